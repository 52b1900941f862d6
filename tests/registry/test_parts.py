"""The puller's parts on their own: credentials, challenges, platforms, formats, archives."""

from __future__ import annotations

import base64
import io
import json
import tarfile
from pathlib import Path

import pytest

from dispatcher.errors import PlatformError
from dispatcher.imageref import ImageRef
from scanner_runner.registry import FORMATS, PullError
from scanner_runner.registry.archive import Layout, Member, PulledImage, atomic_output, blob_writer
from scanner_runner.registry.auth import parse_challenge
from scanner_runner.registry.credentials import (
    docker_config_credentials,
    parse_creds,
    resolve_credentials,
)
from scanner_runner.registry.manifests import Platform, choose
from scanner_runner.registry.media import OCI_INDEX, OCI_MANIFEST, Descriptor, digest_of
from scanner_runner.registry.progress import Progress


def test_parse_creds_keeps_colons_in_password_and_hides_it() -> None:
    creds = parse_creds("AWS:a:b:c")
    assert (creds.username, creds.password) == ("AWS", "a:b:c")
    assert "a:b:c" not in repr(creds)
    with pytest.raises(PullError, match="USER:PASS"):
        parse_creds("nopass")


def test_docker_config_auths(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    encoded = base64.b64encode(b"hub-user:hub-pw").decode()
    config.write_text(
        json.dumps(
            {
                "auths": {
                    "https://index.docker.io/v1/": {"auth": encoded},
                    "ghcr.io": {"username": "gh", "password": "tok"},
                    "quay.io": {"identitytoken": "x"},
                }
            }
        )
    )
    hub = docker_config_credentials(config, "docker.io")
    assert hub is not None and (hub.username, hub.password) == ("hub-user", "hub-pw")
    gh = docker_config_credentials(config, "ghcr.io")
    assert gh is not None and gh.password == "tok"
    assert docker_config_credentials(config, "quay.io") is None
    assert docker_config_credentials(config, "other.example") is None
    assert docker_config_credentials(tmp_path / "missing.json", "ghcr.io") is None
    config.write_text("{not json")
    with pytest.raises(PullError, match="cannot read docker config"):
        docker_config_credentials(config, "ghcr.io")


def test_credentials_precedence_creds_first_and_no_aws_when_not_needed(tmp_path: Path) -> None:
    ref = ImageRef.parse("ghcr.io/org/app:1")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auths": {"ghcr.io": {"username": "cfg", "password": "p"}}}))
    common = {"registry_credentials_arn": None, "pull_role_arn": None, "boto3_session": object()}
    chosen = resolve_credentials(ref, creds="cli:pw", docker_config=config, **common)  # type: ignore[arg-type]
    assert chosen is not None and chosen.username == "cli"
    chosen = resolve_credentials(ref, creds=None, docker_config=config, **common)  # type: ignore[arg-type]
    assert chosen is not None and chosen.source == "docker-config"
    assert resolve_credentials(ref, creds=None, docker_config=None, **common) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("header", "scheme", "params"),
    [
        ('Basic realm="Registry Realm"', "basic", {"realm": "Registry Realm"}),
        (
            'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
            'scope="repository:library/nginx:pull"',
            "bearer",
            {
                "realm": "https://auth.docker.io/token",
                "service": "registry.docker.io",
                "scope": "repository:library/nginx:pull",
            },
        ),
        (
            "Bearer realm=https://x/token, service=s",
            "bearer",
            {"realm": "https://x/token", "service": "s"},
        ),
    ],
)
def test_parse_challenge(header: str, scheme: str, params: dict[str, str]) -> None:
    assert parse_challenge(header) == (scheme, params)


def _entry(platform: str, n: int = 1, media_type: str = OCI_MANIFEST) -> Descriptor:
    return Descriptor(media_type, "sha256:" + f"{n:x}" * 64, 10, platform)


def test_platform_choice_rules() -> None:
    entries = [
        _entry("unknown/unknown", 1),
        _entry("linux/amd64/v3", 2),
        _entry("linux/amd64", 3),
        _entry("linux/arm64", 4),
        _entry("windows/amd64", 5),
    ]
    assert choose(entries, Platform.parse("linux/amd64")).digest == entries[2].digest
    assert choose(entries, Platform.parse("linux/amd64/v3")).digest == entries[1].digest
    assert choose(entries, Platform.parse("linux/arm64/v8")).digest == entries[3].digest
    assert choose(entries, Platform.parse("windows/amd64")).digest == entries[4].digest
    assert choose(entries[:2], Platform.parse("linux/amd64")).digest == entries[1].digest
    with pytest.raises(PullError, match=r"no linux/arm/v7 image"):
        choose(entries, Platform.parse("linux/arm/v7"))
    with pytest.raises(PlatformError, match="os/arch"):
        Platform.parse("amd64")


def test_every_format_is_exercised_and_lays_out_a_readable_tar(tmp_path: Path) -> None:
    layer = b"layer-bytes" * 100
    config = b'{"os":"linux","architecture":"amd64"}'
    manifest = b'{"schemaVersion":2}'
    image = PulledImage(
        name="example.com/team/app",
        tag="v1",
        manifest=Descriptor(OCI_MANIFEST, digest_of(manifest), len(manifest)),
        manifest_bytes=manifest,
        config=Descriptor(
            "application/vnd.oci.image.config.v1+json", digest_of(config), len(config)
        ),
        config_bytes=config,
        layers=(
            Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", digest_of(layer), len(layer)),
        )
        * 2,
    )
    expected = {
        "oci-archive": {"oci-layout", "index.json", f"blobs/sha256/{digest_of(layer)[7:]}"},
        "docker-archive": {
            "manifest.json",
            f"{digest_of(config)[7:]}.json",
            f"{digest_of(layer)[7:]}.tar.gz",
        },
    }
    assert set(FORMATS) == set(expected)
    for name, lay_out in FORMATS.items():
        members = lay_out(image)
        blobs = [m for m in members if m.blob is not None]
        assert len(blobs) == 1  # a repeated layer is stored once
        out = tmp_path / f"{name}.tar"
        _write(members, out, {blobs[0].blob.digest: layer})  # type: ignore[union-attr]
        with tarfile.open(out) as tar:
            names = set(tar.getnames())
            assert expected[name] <= names
            blob_name = next(n for n in expected[name] if digest_of(layer)[7:] in n)
            assert tar.extractfile(blob_name).read() == layer  # type: ignore[union-attr]


def _write(members: list[Member], out: Path, contents: dict[str, bytes]) -> None:
    layout = Layout(members)
    with atomic_output(out) as (fd, _temp):
        layout.write_fixed(fd)
        for digest, data in contents.items():
            write = blob_writer(fd, layout.blob_offsets[digest])
            write(len(data) // 2, data[len(data) // 2 :])  # parallel writers land out of order
            write(0, data[: len(data) // 2])


def test_long_sha512_names_use_pax_headers(tmp_path: Path) -> None:
    data = b"x" * 1000
    digest = digest_of(data, "sha512")
    blob = Descriptor("application/vnd.oci.image.layer.v1.tar", digest, len(data))
    out = tmp_path / "a.tar"
    _write(
        [Member("blobs/sha512/", directory=True), Member(f"blobs/sha512/{blob.hex}", blob=blob)],
        out,
        {digest: data},
    )
    with tarfile.open(out) as tar:
        assert tar.extractfile(f"blobs/sha512/{blob.hex}").read() == data  # type: ignore[union-attr]


def test_atomic_output_leaves_nothing_on_failure(tmp_path: Path) -> None:
    out = tmp_path / "a.tar"
    out.write_bytes(b"previous")
    with pytest.raises(RuntimeError), atomic_output(out) as (_fd, temp):
        assert temp.exists()
        raise RuntimeError("boom")
    assert [p.name for p in tmp_path.iterdir()] == ["a.tar"]
    assert out.read_bytes() == b"previous"
    with pytest.raises(PullError, match="does not exist"), atomic_output(tmp_path / "no" / "a.tar"):
        pass
    with pytest.raises(PullError, match="is a directory"), atomic_output(tmp_path):
        pass


def test_progress_bar_draws_and_throttles() -> None:
    stream = io.StringIO()
    ticks = iter([0.0, 0.05, 0.2, 0.35])
    bar = Progress(2_000_000, label="app", stream=stream, clock=lambda: next(ticks))
    for _ in range(4):
        bar.add(500_000)
    bar.finish()
    lines = stream.getvalue().split("\r")
    assert lines[-1] == "app [##############################] 100% 2.0/2.0 MB\n"
    percents = [line.split("]")[1].split()[0] for line in lines[1:]]
    assert percents == ["25%", "75%", "100%", "100%"]  # the 0.05 s update was throttled


def test_index_entry_media_type_guard() -> None:
    with pytest.raises(PullError):
        choose([_entry("linux/amd64", 1, OCI_INDEX)], Platform.parse("linux/amd64"))
