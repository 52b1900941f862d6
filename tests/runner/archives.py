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

_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'


@dataclass(frozen=True)
class Archive:
    """An archive on disk and the identities a scanner should report for it."""

    path: Path
    format: str
    image_id: str  # sha256:<config digest>
    manifest_digest: str
    index_digest: str = ""  # the multi-arch index the archive's index.json points at, if any


# How an archive may be tampered with after its manifest and config were written.
TAMPERS = ("", "layer", "diff_id", "missing-layer")


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


def build_oci_archive(
    path: Path,
    label: str = "app",
    arch: str = "amd64",
    *,
    files: dict[str, bytes] | None = None,
    compress: bool = True,
    tamper: str = "",
    nested_index: bool = False,
    raw_layer: bytes | None = None,
    repeat: int = 1,
) -> Archive:
    """An oci-archive with one layer (gzip unless `compress` is off); returns its image ID and
    manifest digest. `tamper` swaps the stored layer, breaks the config's diff_id or drops the
    layer blob; `nested_index` puts a multi-arch index between index.json and the manifest;
    `raw_layer` is stored (and named by the manifest) instead; `repeat` lists the layer N times."""
    diff = _layer(files if files is not None else rootfs(label))
    layer = gzip.compress(diff, mtime=0) if compress else diff
    layer = raw_layer if raw_layer is not None else layer
    stored = layer
    if tamper == "layer":  # same length of label, so an uncompressed swap keeps the size
        other = _layer(rootfs("x" * len(label)))
        stored = gzip.compress(other, mtime=0) if compress else other
    diff_id = _digest(b"not the layer") if tamper == "diff_id" else _digest(diff)
    config = json.dumps(
        {
            "architecture": arch,
            "os": "linux",
            "config": {"Labels": {"test": label}},
            "rootfs": {"type": "layers", "diff_ids": [diff_id] * repeat},
        },
        sort_keys=True,
    ).encode()
    layer_type = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if compress else "")
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": _digest(config),
                "size": len(config),
            },
            "layers": [{"mediaType": layer_type, "digest": _digest(layer), "size": len(layer)}]
            * repeat,
        }
    ).encode()
    entry = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": _digest(manifest),
        "size": len(manifest),
        "platform": {"os": "linux", "architecture": arch},
    }
    blobs = [config, manifest]
    nested = b""
    if nested_index:
        nested = json.dumps(
            {"schemaVersion": 2, "mediaType": _OCI_INDEX, "manifests": [entry]}
        ).encode()
        blobs.append(nested)
        entry = {"mediaType": _OCI_INDEX, "digest": _digest(nested), "size": len(nested)}
    entry["annotations"] = {"org.opencontainers.image.ref.name": "latest"}
    index = json.dumps({"schemaVersion": 2, "manifests": [entry]}).encode()
    with tarfile.open(path, "w") as tar:
        for directory in ("blobs", "blobs/sha256"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        _add(tar, "oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
        _add(tar, "index.json", index)
        for blob in blobs:
            _add(tar, "blobs/sha256/" + _digest(blob).split(":")[1], blob)
        if tamper != "missing-layer":
            _add(tar, "blobs/sha256/" + _digest(layer).split(":")[1], stored)
    index_digest = _digest(nested) if nested_index else ""
    return Archive(path, "oci-archive", _digest(config), _digest(manifest), index_digest)


def build_docker_archive(
    path: Path, label: str = "app", *, compress: bool = False, tamper: str = ""
) -> Archive:
    """A docker-archive (`docker save` layout) with one layer, uncompressed as docker writes it
    or gzip as `deployscan pull --format docker-archive` does; `tamper` as for OCI."""
    diff = _layer(rootfs(label))
    stored = _layer(rootfs("x" * len(label))) if tamper == "layer" else diff
    diff_id = _digest(b"not the layer") if tamper == "diff_id" else _digest(diff)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        },
        sort_keys=True,
    ).encode()
    config_hex = _digest(config).split(":")[1]
    name = "l1/layer.tar.gz" if compress else "l1/layer.tar"
    manifest = [{"Config": f"{config_hex}.json", "RepoTags": ["app:1"], "Layers": [name]}]
    with tarfile.open(path, "w") as tar:
        _add(tar, "manifest.json", json.dumps(manifest).encode())
        _add(tar, f"{config_hex}.json", config)
        if tamper != "missing-layer":
            _add(tar, name, gzip.compress(stored, mtime=0) if compress else stored)
    return Archive(path, "docker-archive", _digest(config), "")
