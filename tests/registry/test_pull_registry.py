"""Pulls from the real docker-registry: platforms, digests, formats, auth, limits."""

from __future__ import annotations

import base64
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from scanner_runner.devtools.localregistry import LocalRegistry
from scanner_runner.registry import PullError, pull
from scanner_runner.registry.media import digest_of
from tests.registry.conftest import Pushed


def _oci_blobs(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {
            "sha256:" + m.name.rsplit("/", 1)[1]: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile() and m.name.startswith("blobs/sha256/")
        }


def test_multi_platform_tag_resolves_index_and_picks_amd64(pushed: Pushed, tmp_path: Path) -> None:
    out = tmp_path / "img.tar"
    result = pull(pushed.ref("team/multi:1.0"), out, insecure_registries=[pushed.host])

    amd64 = pushed.multi.images[0]
    assert result.digest == pushed.multi_digest
    assert result.manifest_digest == amd64.digest
    assert result.platform == "linux/amd64"
    assert result.layer_count == 3
    assert result.config_digest == amd64.config.digest
    assert result.archive == out
    blobs = _oci_blobs(out)
    for blob in (amd64.config, *amd64.layers):
        assert digest_of(blobs[blob.digest]) == blob.digest
    assert blobs[amd64.digest] == amd64.manifest
    with tarfile.open(out) as tar:
        index = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
    assert index["manifests"][0]["digest"] == amd64.digest
    assert index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "1.0"
    assert [p.name for p in tmp_path.iterdir()] == ["img.tar"]


@pytest.mark.parametrize(
    ("platform", "which", "reported"),
    [
        ("linux/arm64", 1, "linux/arm64/v8"),
        ("linux/arm64/v8", 1, "linux/arm64/v8"),
        ("linux/arm/v7", 2, "linux/arm/v7"),
        ("linux/arm", 2, "linux/arm/v7"),
    ],
)
def test_platform_and_variant_choice(
    pushed: Pushed, tmp_path: Path, platform: str, which: int, reported: str
) -> None:
    result = pull(
        pushed.ref("team/multi:1.0"),
        tmp_path / "a.tar",
        platform=platform,
        insecure_registries=[pushed.host],
    )
    assert result.manifest_digest == pushed.multi.images[which].digest
    assert result.platform == reported


@pytest.mark.parametrize("platform", ["unknown/unknown", "linux/s390x", "linux/arm/v6"])
def test_missing_platform_and_attestations_are_not_chosen(
    pushed: Pushed, tmp_path: Path, platform: str
) -> None:
    with pytest.raises(PullError, match=r"no .* image in the index \(offers: linux/amd64, "):
        pull(
            pushed.ref("team/multi:1.0"),
            tmp_path / "a.tar",
            platform=platform,
            insecure_registries=[pushed.host],
        )
    assert list(tmp_path.iterdir()) == []


def test_reference_by_digest_of_index_and_of_manifest(pushed: Pushed, tmp_path: Path) -> None:
    by_index = pull(
        pushed.ref(f"team/multi@{pushed.multi_digest}"),
        tmp_path / "a.tar",
        platform="linux/arm64",
        insecure_registries=[pushed.host],
    )
    assert by_index.digest == pushed.multi_digest
    arm = pushed.multi.images[1].digest
    by_manifest = pull(
        pushed.ref(f"team/multi@{arm}"), tmp_path / "b.tar", insecure_registries=[pushed.host]
    )
    assert (by_manifest.digest, by_manifest.manifest_digest) == (arm, arm)
    assert by_manifest.platform == "linux/arm64/v8"  # from the image config


def test_docker_manifest_list_into_docker_archive(pushed: Pushed, tmp_path: Path) -> None:
    out = tmp_path / "d.tar"
    result = pull(
        pushed.ref("team/dockerlist:2"),
        out,
        platform="linux/arm64",
        fmt="docker-archive",
        insecure_registries=[pushed.host],
    )
    arm = pushed.docker_list.images[1]
    assert result.media_type == "application/vnd.docker.distribution.manifest.v2+json"
    assert result.manifest_digest == arm.digest
    assert result.format == "docker-archive"
    with tarfile.open(out) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        layer = tar.extractfile(manifest[0]["Layers"][0]).read()  # type: ignore[union-attr]
        config = tar.extractfile(manifest[0]["Config"]).read()  # type: ignore[union-attr]
    assert manifest[0]["RepoTags"] == [f"{pushed.host}/team/dockerlist:2"]
    assert digest_of(layer) == arm.layers[0].digest
    assert digest_of(config) == arm.config.digest
    inspect = subprocess.run(
        ["skopeo", "inspect", f"docker-archive:{out}"], capture_output=True, text=True, check=True
    )
    assert json.loads(inspect.stdout)["Architecture"] == "arm64"


def test_archive_matches_skopeo_copy(pushed: Pushed, tmp_path: Path) -> None:
    ours = tmp_path / "ours.tar"
    result = pull(pushed.ref("team/single:latest"), ours, insecure_registries=[pushed.host])
    assert result.layer_count == 4  # one layer repeated: stored once
    inspect = subprocess.run(
        ["skopeo", "inspect", f"oci-archive:{ours}"], capture_output=True, text=True, check=True
    )
    assert json.loads(inspect.stdout)["Digest"] == pushed.single.digest
    layout = tmp_path / "skopeo"
    subprocess.run(
        [
            "skopeo",
            "copy",
            "--quiet",
            "--src-tls-verify=false",
            f"docker://{pushed.ref('team/single:latest')}",
            f"oci:{layout}:latest",
        ],
        check=True,
        capture_output=True,
    )
    theirs = {f"sha256:{p.name}": p.read_bytes() for p in (layout / "blobs" / "sha256").iterdir()}
    assert _oci_blobs(ours) == theirs


def test_max_size_refuses_before_writing(pushed: Pushed, tmp_path: Path) -> None:
    with pytest.raises(PullError, match="over the --max-size of 100"):
        pull(
            pushed.ref("team/single:latest"),
            tmp_path / "a.tar",
            max_size=100,
            insecure_registries=[pushed.host],
        )
    assert list(tmp_path.iterdir()) == []


def test_not_found_and_https_only_without_insecure(pushed: Pushed, tmp_path: Path) -> None:
    with pytest.raises(PullError, match="not found"):
        pull(pushed.ref("team/nope:1"), tmp_path / "a.tar", insecure_registries=[pushed.host])
    with pytest.raises(PullError, match="connection failed"):
        pull(pushed.ref("team/single:latest"), tmp_path / "a.tar", sleep=lambda _s: None)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def auth_image(auth_registry: LocalRegistry) -> str:
    """An image in the auth registry; returns its reference."""
    from scanner_runner.devtools import imagebuild

    img = imagebuild.image([imagebuild.layer({"etc/os-release": b"ID=debian\n"})])
    imagebuild.Pusher(auth_registry.url, auth=auth_registry.auth).push_image("sec/app", img, "1")
    return f"{auth_registry.host}/sec/app:1"


def test_basic_auth_with_creds(
    auth_registry: LocalRegistry, auth_image: str, tmp_path: Path
) -> None:
    creds = f"{auth_registry.username}:{auth_registry.password}"
    result = pull(
        auth_image, tmp_path / "a.tar", creds=creds, insecure_registries=[auth_registry.host]
    )
    assert result.layer_count == 1


def test_basic_auth_from_docker_config(
    auth_registry: LocalRegistry, auth_image: str, tmp_path: Path
) -> None:
    raw = f"{auth_registry.username}:{auth_registry.password}".encode()
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"auths": {auth_registry.host: {"auth": base64.b64encode(raw).decode()}}})
    )
    result = pull(
        auth_image,
        tmp_path / "a.tar",
        docker_config=config,
        insecure_registries=[auth_registry.host],
    )
    assert result.platform == "linux/amd64"


def test_auth_required_and_wrong_password(
    auth_registry: LocalRegistry, auth_image: str, tmp_path: Path
) -> None:
    with pytest.raises(PullError, match="requires credentials"):
        pull(auth_image, tmp_path / "a.tar", insecure_registries=[auth_registry.host])
    with pytest.raises(PullError, match="rejected the credentials"):
        pull(
            auth_image,
            tmp_path / "a.tar",
            creds="AWS:wrong",
            insecure_registries=[auth_registry.host],
        )
    assert list(tmp_path.iterdir()) == []
