"""A hostile registry is refused cleanly: one clear PullError, nothing left at the output."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from scanner_runner.devtools import imagebuild
from scanner_runner.registry import PullError, pull
from scanner_runner.registry.media import OCI_INDEX, OCI_MANIFEST, digest_of
from tests.registry.hostile import Handler, Hostile, Route, reply, send

REPO = "evil/app"


@pytest.fixture(scope="module")
def img() -> imagebuild.Image:
    """A small honest image the hostile server serves unless a test overrides a route."""
    return imagebuild.image(
        [
            imagebuild.layer({"etc/os-release": b"ID=debian\n"}),
            imagebuild.layer({"big.bin": bytes(range(256)) * 4096}, level=0),
        ]
    )


def _pull(server: Hostile, tmp_path: Path, ref: str = "1", **kwargs: object) -> Path:
    out = tmp_path / "out.tar"
    sleeps: list[float] = []
    kwargs.setdefault("insecure_registries", [server.host])
    kwargs.setdefault("sleep", sleeps.append)
    sep = "@" if ref.startswith("sha256:") else ":"
    pull(f"{server.host}/{REPO}{sep}{ref}", out, **kwargs)  # type: ignore[arg-type]
    return out


def _refused(server: Hostile, tmp_path: Path, match: str, **kwargs: Any) -> None:
    with pytest.raises(PullError, match=match) as caught:
        _pull(server, tmp_path, **kwargs)
    assert "\n" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def _manifest(body: object, content_type: str = OCI_MANIFEST) -> tuple[bytes, str]:
    raw = json.dumps(body).encode()
    return raw, content_type


def _serve_manifest(server: Hostile, raw: bytes, content_type: str = OCI_MANIFEST) -> None:
    server.routes[f"/v2/{REPO}/manifests/1"] = reply(200, raw, content_type=content_type)


def test_honest_server_works(hostile: Hostile, img: imagebuild.Image, tmp_path: Path) -> None:
    hostile.serve_image(REPO, img)
    assert _pull(hostile, tmp_path).stat().st_size > img.layers[1].size


def test_manifest_digest_mismatch_by_digest(
    hostile: Hostile, img: imagebuild.Image, tmp_path: Path
) -> None:
    hostile.serve_image(REPO, img)
    other = "sha256:" + "0" * 64
    hostile.routes[f"/v2/{REPO}/manifests/{other}"] = reply(200, img.manifest)
    _refused(hostile, tmp_path, "digest mismatch for manifest", ref=other)


def test_docker_content_digest_mismatch(
    hostile: Hostile, img: imagebuild.Image, tmp_path: Path
) -> None:
    hostile.serve_image(REPO, img)
    hostile.routes[f"/v2/{REPO}/manifests/1"] = reply(
        200, img.manifest, digest="sha256:" + "1" * 64
    )
    _refused(hostile, tmp_path, "digest mismatch")


@pytest.mark.parametrize(
    "digest", ["sha256:../../../../etc/passwd", "md5:abc", "sha256:" + "A" * 64, 7]
)
def test_descriptor_digest_not_algorithm_hex(
    hostile: Hostile, img: imagebuild.Image, tmp_path: Path, digest: object
) -> None:
    hostile.serve_image(REPO, img)
    body = json.loads(img.manifest)
    body["layers"][0]["digest"] = digest
    _serve_manifest(hostile, json.dumps(body).encode())
    _refused(hostile, tmp_path, "invalid digest for layer 0")


def test_docker_content_digest_header_not_a_digest(
    hostile: Hostile, img: imagebuild.Image, tmp_path: Path
) -> None:
    hostile.routes[f"/v2/{REPO}/manifests/1"] = reply(200, img.manifest, digest="../x")
    _refused(hostile, tmp_path, "invalid digest")


def test_oversize_and_non_json_and_unknown_type(hostile: Hostile, tmp_path: Path) -> None:
    _serve_manifest(hostile, b"{" + b" " * (4 * 1024 * 1024) + b"}")
    _refused(hostile, tmp_path, "over 4194304 bytes")
    _serve_manifest(hostile, b"<html>hello</html>")
    _refused(hostile, tmp_path, "is not JSON")
    raw, _ = _manifest({"schemaVersion": 2, "mediaType": "application/x-evil", "layers": []})
    _serve_manifest(hostile, raw, "application/x-evil")
    _refused(hostile, tmp_path, "unsupported manifest media type")
    raw, _ = _manifest({"schemaVersion": 1, "name": REPO})
    _serve_manifest(hostile, raw, "application/vnd.docker.distribution.manifest.v1+prettyjws")
    _refused(hostile, tmp_path, "not a schema 2")


def test_unknown_layer_type_and_artifact_and_layer_count(
    hostile: Hostile, img: imagebuild.Image, tmp_path: Path
) -> None:
    body = json.loads(img.manifest)
    body["layers"][0]["mediaType"] = "application/x-shell-script"
    _serve_manifest(hostile, json.dumps(body).encode())
    _refused(hostile, tmp_path, "unsupported layer media type")
    body = json.loads(img.manifest)
    body["config"]["mediaType"] = "application/vnd.cncf.helm.config.v1+json"
    _serve_manifest(hostile, json.dumps(body).encode())
    _refused(hostile, tmp_path, "not a container image")
    body = json.loads(img.manifest)
    body["layers"] = body["layers"][:1] * 300
    _serve_manifest(hostile, json.dumps(body).encode())
    _refused(hostile, tmp_path, "300 layers, over 256")


def test_nested_index(hostile: Hostile, tmp_path: Path) -> None:
    inner = {"mediaType": OCI_INDEX, "digest": "sha256:" + "2" * 64, "size": 100}
    raw, _ = _manifest({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [inner]})
    _serve_manifest(hostile, raw, OCI_INDEX)
    _refused(hostile, tmp_path, "index nesting deeper than one level")


def test_index_child_that_is_an_index(hostile: Hostile, tmp_path: Path) -> None:
    child = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}).encode()
    entry = {
        "mediaType": OCI_MANIFEST,
        "digest": digest_of(child),
        "size": len(child),
        "platform": {"os": "linux", "architecture": "amd64"},
    }
    raw, _ = _manifest({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]})
    _serve_manifest(hostile, raw, OCI_INDEX)
    hostile.routes[f"/v2/{REPO}/manifests/{digest_of(child)}"] = reply(
        200, child, content_type=OCI_INDEX
    )
    _refused(hostile, tmp_path, "manifest says .* but was served as|nesting deeper")


def test_blob_digest_mismatch(hostile: Hostile, img: imagebuild.Image, tmp_path: Path) -> None:
    hostile.serve_image(REPO, img)
    blob = img.layers[1]
    assert blob.data is not None
    tampered = bytes([blob.data[0] ^ 1]) + blob.data[1:]
    hostile.routes[f"/v2/{REPO}/blobs/{blob.digest}"] = reply(200, tampered)
    _refused(hostile, tmp_path, "digest mismatch for blob")


def test_blob_longer_than_descriptor(
    hostile: Hostile, img: imagebuild.Image, tmp_path: Path
) -> None:
    hostile.serve_image(REPO, img)
    blob = img.layers[1]
    assert blob.data is not None
    path = f"/v2/{REPO}/blobs/{blob.digest}"
    hostile.routes[path] = reply(200, blob.data + b"MORE")
    _refused(hostile, tmp_path, "longer than its descriptor")

    def chunked(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        payload = blob.data + b"x" * 100_000  # type: ignore[operator]
        h.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n0\r\n\r\n")

    hostile.routes[path] = chunked
    _refused(hostile, tmp_path, "longer than its descriptor")


def test_redirect_loop_and_auth_loop(
    hostile: Hostile, img: imagebuild.Image, tmp_path: Path
) -> None:
    path = f"/v2/{REPO}/manifests/1"
    hostile.routes[path] = reply(302, headers={"Location": path})
    _refused(hostile, tmp_path, "too many redirects")
    hostile.routes[path] = reply(401, headers={"WWW-Authenticate": 'Basic realm="r"'})
    _refused(hostile, tmp_path, "auth loop", creds="AWS:token")
    hostile.routes[path] = reply(
        401, headers={"WWW-Authenticate": f'Bearer realm="{hostile.url}/token",service="s"'}
    )
    hostile.routes["/token"] = reply(200, b'{"token": "t0k"}')
    _refused(hostile, tmp_path, "auth loop")


def _basic_guard(server: Hostile, expected: str) -> None:
    """Make every registry route demand `expected` Basic credentials, as ECR does."""
    for path, route in dict(server.routes).items():

        def guarded(h: Handler, route: Route = route) -> None:
            if h.headers.get("Authorization") == expected:
                route(h)
            else:
                send(h, 401, b"{}", {"WWW-Authenticate": 'Basic realm="registry"'})

        server.routes[path] = guarded


def test_redirect_to_storage_drops_credentials(
    hostile: Hostile, storage: Hostile, img: imagebuild.Image, tmp_path: Path
) -> None:
    hostile.serve_image(REPO, img)
    for blob in img.layers:
        assert blob.data is not None
        target = f"{storage.url}/bucket/{blob.digest[7:]}?X-Amz-Signature=abc"
        hostile.routes[f"/v2/{REPO}/blobs/{blob.digest}"] = reply(307, headers={"Location": target})
        storage.routes[f"/bucket/{blob.digest[7:]}"] = reply(200, blob.data)
    _basic_guard(hostile, "Basic " + base64.b64encode(b"AWS:secret").decode())
    _pull(hostile, tmp_path, creds="AWS:secret", insecure_registries=[hostile.host, storage.host])
    assert sorted(s.path for s in storage.seen) == sorted(
        f"/bucket/{b.digest[7:]}" for b in img.layers
    )
    assert all("Authorization" not in s.headers for s in storage.seen)
    registry_blob_hits = [
        s for s in hostile.seen if "/blobs/" in s.path and "Authorization" in s.headers
    ]
    assert len(registry_blob_hits) == 3  # config + two layers, each with the credentials


def test_redirect_to_plain_http_host_not_allowed(
    hostile: Hostile, storage: Hostile, img: imagebuild.Image, tmp_path: Path
) -> None:
    hostile.serve_image(REPO, img)
    blob = img.layers[0]
    hostile.routes[f"/v2/{REPO}/blobs/{blob.digest}"] = reply(
        307, headers={"Location": f"{storage.url}/x?X-Amz-Signature=s3cr3tsig"}
    )
    _refused(hostile, tmp_path, "refusing redirect")
    with pytest.raises(PullError) as caught:
        _pull(hostile, tmp_path)
    assert "s3cr3tsig" not in str(caught.value)  # a presigned URL's query is never shown


def test_bearer_token_anonymous_and_with_creds(
    hostile: Hostile, img: imagebuild.Image, tmp_path: Path
) -> None:
    hostile.serve_image(REPO, img)
    challenge = (
        f'Bearer realm="{hostile.url}/token",service="hostile",scope="repository:{REPO}:pull"'
    )
    honest = dict(hostile.routes)

    def guarded(path: str):  # type: ignore[no-untyped-def]
        def route(h: Handler) -> None:
            if h.headers.get("Authorization") == "Bearer tok-123":
                honest[path](h)
            else:
                send(h, 401, b"{}", {"WWW-Authenticate": challenge})

        return route

    for path in honest:
        hostile.routes[path] = guarded(path)
    hostile.routes["/token"] = reply(200, b'{"access_token": "tok-123", "expires_in": 300}')
    _pull(hostile, tmp_path)
    token_calls = [s for s in hostile.seen if s.path == "/token"]
    assert len(token_calls) == 1
    assert "Authorization" not in token_calls[0].headers
    assert "scope=repository%3Aevil%2Fapp%3Apull" in token_calls[0].query
    _pull(hostile, tmp_path, creds="me:pw")
    assert (
        [s for s in hostile.seen if s.path == "/token"][-1]
        .headers["Authorization"]
        .startswith("Basic ")
    )


def test_429_retry_after_and_5xx_are_retried(
    hostile: Hostile, img: imagebuild.Image, tmp_path: Path
) -> None:
    hostile.serve_image(REPO, img)
    path = f"/v2/{REPO}/manifests/1"
    honest = hostile.routes[path]
    answers = [reply(429, headers={"Retry-After": "3"}), reply(503), honest]

    def scripted(h: Handler) -> None:
        answers.pop(0)(h)

    hostile.routes[path] = scripted
    sleeps: list[float] = []
    _pull(hostile, tmp_path, sleep=sleeps.append)
    assert sleeps == [3.0, 1.0]


def test_retries_give_up(hostile: Hostile, tmp_path: Path) -> None:
    hostile.routes[f"/v2/{REPO}/manifests/1"] = reply(502)
    _refused(hostile, tmp_path, "HTTP 502 after 5 attempts")
    hostile.routes[f"/v2/{REPO}/manifests/1"] = reply(429, headers={"Retry-After": "3600"})
    _refused(hostile, tmp_path, "retry after 3600 s")


@pytest.mark.parametrize("honours_range", [True, False])
def test_dropped_connection_resumes_with_range(
    hostile: Hostile, img: imagebuild.Image, tmp_path: Path, honours_range: bool
) -> None:
    hostile.serve_image(REPO, img)
    blob = img.layers[1]
    data = blob.data
    assert data is not None
    cut = len(data) // 3
    calls: list[str | None] = []

    def flaky(h: Handler) -> None:
        calls.append(h.headers.get("Range"))
        if len(calls) == 1:
            h.send_response(200)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data[:cut])
            h.close_connection = True
            return
        start = int(h.headers["Range"].split("=")[1].rstrip("-"))
        if honours_range:
            send(
                h,
                206,
                data[start:],
                {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"},
            )
        else:
            send(h, 200, data)

    hostile.routes[f"/v2/{REPO}/blobs/{blob.digest}"] = flaky
    out = _pull(hostile, tmp_path)
    assert calls[0] is None
    assert calls[1] is not None and calls[1].startswith("bytes=") and calls[1] != "bytes=0-"
    assert data in out.read_bytes()
