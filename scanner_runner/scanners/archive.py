"""Read an image archive's identity (the config digest, i.e. the image ID) without unpacking it.

Used to check that a scanner's report belongs to the archive that was scanned, that the archive
is the digest asked for, and (with `layers.verify_layers`) that its layers are what it says.
"""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dispatcher.platforms import platform_text
from scanner_runner.errors import ScannerError

OCI_ARCHIVE = "oci-archive"
DOCKER_ARCHIVE = "docker-archive"
_INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}
_DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")
_LAYER_DIGEST_RE = re.compile(r"^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$")
_MAX_JSON = 8 * 1024 * 1024
MAX_LAYERS = 1024


@dataclass(frozen=True)
class Layer:
    """One layer as the archive's metadata names it: where it is stored, the blob digest and
    size its manifest gives (oci-archive only), and its diff_id (the config's rootfs)."""

    name: str
    diff_id: str
    digest: str = ""
    size: int = -1


@dataclass(frozen=True)
class ArchiveInfo:
    """An archive's format, image ID (`sha256:<config digest>`), manifest digest if known, the
    platform its config declares (`os/arch[/variant]`, or ""), every digest that names the image
    (the manifest's and, for a multi-arch archive, its index's) and its layers."""

    format: str
    image_id: str
    manifest_digest: str = ""
    platform: str = ""
    digests: tuple[str, ...] = ()
    layers: tuple[Layer, ...] = ()


def inspect_archive(path: Path, platform: str = "") -> ArchiveInfo:
    """Identify an oci-archive or docker-archive; ScannerError when it is neither or is broken."""
    try:
        with tarfile.open(path, mode="r:") as tar:
            names = {m.name.lstrip("./"): m for m in tar.getmembers() if m.isfile()}
            if "index.json" in names and "oci-layout" in names:
                return _oci(tar, names, platform)
            if "manifest.json" in names:
                return _docker(tar, names)
    except (OSError, tarfile.TarError) as exc:
        raise ScannerError(f"cannot read image archive {path.name}: {exc}") from exc
    raise ScannerError(f"{path.name} is neither an OCI archive nor a docker archive")


def _read_json(tar: tarfile.TarFile, member: tarfile.TarInfo) -> tuple[Any, bytes]:
    if member.size > _MAX_JSON:
        raise ScannerError(f"archive entry {member.name} is too large for metadata")
    handle = tar.extractfile(member)
    if handle is None:
        raise ScannerError(f"archive entry {member.name} is not a file")
    data = handle.read()
    try:
        return json.loads(data), data
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ScannerError(f"archive entry {member.name} is not JSON") from exc


def _blob(tar: tarfile.TarFile, names: dict[str, tarfile.TarInfo], digest: object) -> Any:
    if not isinstance(digest, str) or not _DIGEST_RE.match(digest):
        raise ScannerError(f"archive refers to an invalid digest {digest!r}")
    member = names.get("blobs/sha256/" + digest.split(":", 1)[1])
    if member is None:
        raise ScannerError(f"archive lacks blob {digest}")
    document, raw = _read_json(tar, member)
    if "sha256:" + hashlib.sha256(raw).hexdigest() != digest:
        raise ScannerError(f"archive blob {digest} does not match its digest")
    return document


def _pick(manifests: object, platform: str) -> dict[str, Any]:
    if not isinstance(manifests, list) or not manifests:
        raise ScannerError("archive index lists no manifests")
    wanted = platform.split("/") if platform else []
    for entry in manifests:
        spec = entry.get("platform", {}) if isinstance(entry, dict) else {}
        if wanted and [spec.get("os"), spec.get("architecture")] == wanted[:2]:
            return dict(entry)
    first = manifests[0]
    if not isinstance(first, dict):
        raise ScannerError("archive index entry is not an object")
    return first


def _oci(tar: tarfile.TarFile, names: dict[str, tarfile.TarInfo], platform: str) -> ArchiveInfo:
    index, _ = _read_json(tar, names["index.json"])
    entry = _pick(index.get("manifests") if isinstance(index, dict) else None, platform)
    chain = []  # every digest from index.json's entry down to the manifest: all name this image
    for _depth in range(3):
        if entry.get("mediaType") not in _INDEX_TYPES:
            break
        nested = _blob(tar, names, entry.get("digest"))
        chain.append(str(entry.get("digest")))
        entry = _pick(nested.get("manifests") if isinstance(nested, dict) else None, platform)
    manifest = _blob(tar, names, entry.get("digest"))
    config = manifest.get("config") if isinstance(manifest, dict) else None
    digest = config.get("digest") if isinstance(config, dict) else None
    if not isinstance(digest, str) or not _DIGEST_RE.match(digest):
        raise ScannerError("archive manifest has no valid config digest")
    config_document = _blob(tar, names, digest)
    diff_ids = _diff_ids(config_document)
    layers = []
    for n, desc in enumerate(_list(manifest.get("layers"), "manifest layers")):
        layer_digest = desc.get("digest") if isinstance(desc, dict) else None
        size = desc.get("size") if isinstance(desc, dict) else None
        if not isinstance(layer_digest, str) or not _LAYER_DIGEST_RE.match(layer_digest):
            raise ScannerError(f"archive manifest names an invalid layer digest {layer_digest!r}")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ScannerError(f"archive manifest gives layer {layer_digest} no valid size")
        name = "blobs/" + layer_digest.replace(":", "/", 1)
        layers.append(Layer(name, _nth(diff_ids, n), layer_digest, size))
    _same_count(layers, diff_ids)
    manifest_digest = str(entry.get("digest"))
    return ArchiveInfo(
        OCI_ARCHIVE,
        digest,
        manifest_digest,
        platform_text(config_document),
        (*chain, manifest_digest),
        tuple(layers),
    )


def _docker(tar: tarfile.TarFile, names: dict[str, tarfile.TarInfo]) -> ArchiveInfo:
    manifest, _ = _read_json(tar, names["manifest.json"])
    if not isinstance(manifest, list) or not manifest or not isinstance(manifest[0], dict):
        raise ScannerError("docker archive manifest.json is not a list of images")
    config_name = manifest[0].get("Config")
    member = names.get(str(config_name).lstrip("./"))
    if member is None:
        raise ScannerError(f"docker archive lacks its config {config_name!r}")
    config, raw = _read_json(tar, member)
    image_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    diff_ids = _diff_ids(config)
    layers = [
        Layer(str(name).lstrip("./"), _nth(diff_ids, n))
        for n, name in enumerate(_list(manifest[0].get("Layers"), "manifest.json Layers"))
    ]
    _same_count(layers, diff_ids)
    return ArchiveInfo(
        DOCKER_ARCHIVE, image_id, platform=platform_text(config), layers=tuple(layers)
    )


def _list(value: object, what: str) -> list[Any]:
    if not isinstance(value, list) or len(value) > MAX_LAYERS:
        raise ScannerError(f"archive {what} is not a list of at most {MAX_LAYERS} layers")
    return value


def _diff_ids(config: object) -> list[str]:
    rootfs = config.get("rootfs") if isinstance(config, dict) else None
    values = _list(rootfs.get("diff_ids") if isinstance(rootfs, dict) else None, "diff_ids")
    if not all(isinstance(v, str) and _LAYER_DIGEST_RE.match(v) for v in values):
        raise ScannerError("archive config has an invalid rootfs.diff_ids entry")
    return values


def _nth(diff_ids: list[str], n: int) -> str:
    return diff_ids[n] if n < len(diff_ids) else ""


def _same_count(layers: list[Layer], diff_ids: list[str]) -> None:
    if len(layers) != len(diff_ids):
        raise ScannerError(
            f"archive manifest names {len(layers)} layers, its config {len(diff_ids)} diff_ids"
        )
