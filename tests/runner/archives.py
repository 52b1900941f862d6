"""Build small image archives in tests with the standard library (no committed blobs)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

DPKG_STATUS = """Package: base-files
Status: install ok installed
Version: 12.4+deb12u5
Architecture: amd64

Package: openssl
Status: install ok installed
Version: 3.0.11-1~deb12u2
Architecture: amd64

Package: zlib1g
Status: install ok installed
Source: zlib
Version: 1:1.2.13.dfsg-1
Architecture: amd64
"""

OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'


@dataclass(frozen=True)
class Archive:
    """An archive on disk and the identities a scanner should report for it."""

    path: Path
    format: str
    image_id: str  # sha256:<config digest>
    manifest_digest: str


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def _layer(files: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(files.items()):
            _add(tar, name, data)
    return raw.getvalue()


def rootfs(label: str = "app") -> dict[str, bytes]:
    """A tiny Debian-like filesystem; `label` makes the image (and its ID) distinct."""
    return {
        "etc/os-release": OS_RELEASE.encode(),
        "usr/lib/os-release": OS_RELEASE.encode(),
        "var/lib/dpkg/status": DPKG_STATUS.encode(),
        "etc/hostname": label.encode(),
    }


def build_oci_archive(path: Path, label: str = "app", arch: str = "amd64") -> Archive:
    """An oci-archive with one gzip layer; returns its image ID and manifest digest."""
    diff = _layer(rootfs(label))
    layer = gzip.compress(diff, mtime=0)
    config = json.dumps(
        {
            "architecture": arch,
            "os": "linux",
            "config": {"Labels": {"test": label}},
            "rootfs": {"type": "layers", "diff_ids": [_digest(diff)]},
        },
        sort_keys=True,
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": _digest(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": _digest(layer),
                    "size": len(layer),
                }
            ],
        }
    ).encode()
    index = json.dumps(
        {
            "schemaVersion": 2,
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": _digest(manifest),
                    "size": len(manifest),
                    "platform": {"os": "linux", "architecture": arch},
                    "annotations": {"org.opencontainers.image.ref.name": "latest"},
                }
            ],
        }
    ).encode()
    with tarfile.open(path, "w") as tar:
        for directory in ("blobs", "blobs/sha256"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        _add(tar, "oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
        _add(tar, "index.json", index)
        for blob in (config, manifest, layer):
            _add(tar, "blobs/sha256/" + _digest(blob).split(":")[1], blob)
    return Archive(path, "oci-archive", _digest(config), _digest(manifest))


def build_docker_archive(path: Path, label: str = "app") -> Archive:
    """A docker-archive (`docker save` layout) with one uncompressed layer."""
    diff = _layer(rootfs(label))
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [_digest(diff)]},
        },
        sort_keys=True,
    ).encode()
    config_hex = _digest(config).split(":")[1]
    manifest = [{"Config": f"{config_hex}.json", "RepoTags": ["app:1"], "Layers": ["l1/layer.tar"]}]
    with tarfile.open(path, "w") as tar:
        _add(tar, "manifest.json", json.dumps(manifest).encode())
        _add(tar, f"{config_hex}.json", config)
        _add(tar, "l1/layer.tar", diff)
    return Archive(path, "docker-archive", _digest(config), "")
