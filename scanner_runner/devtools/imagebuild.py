"""Build OCI / Docker v2 schema 2 images in code and push them over the registry HTTP API.

Layers come from `{path: bytes}` mappings (deterministic tar + gzip) or, for big test images,
from random data streamed to a temp file. Used by the tests, the benchmark and the demo.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import tarfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import requests

from scanner_runner.errors import DeployscanError
from scanner_runner.registry import media

OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
ATTESTATION_LAYER = "application/vnd.in-toto+json"
_CHUNK = 1024 * 1024


class PushError(DeployscanError):
    """The registry refused a blob or manifest upload."""


@dataclass(frozen=True)
class Blob:
    """Content held in memory (`data`) or in a file (`path`), with its digest and size."""

    media_type: str
    digest: str
    size: int
    data: bytes | None = field(default=None, repr=False)
    path: Path | None = None
    diff_id: str | None = None

    def descriptor(self) -> dict[str, object]:
        """The OCI descriptor for this blob."""
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


@dataclass(frozen=True)
class Image:
    """A single-platform image: manifest bytes (exact), config and layers."""

    manifest: bytes
    media_type: str
    config: Blob
    layers: tuple[Blob, ...]
    platform: str

    @property
    def digest(self) -> str:
        """The manifest digest."""
        return media.digest_of(self.manifest)


@dataclass(frozen=True)
class Index:
    """A multi-platform index (or Docker manifest list) and the images it names."""

    manifest: bytes
    media_type: str
    images: tuple[Image, ...]

    @property
    def digest(self) -> str:
        """The index digest."""
        return media.digest_of(self.manifest)


def layer(files: Mapping[str, bytes], *, docker: bool = False, level: int = 6) -> Blob:
    """A gzip tar layer holding `files` (parents added), with fixed mtimes and owners."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        directories = sorted({str(Path(p).parent) for p in files} - {"."})
        for directory in _with_parents(directories):
            tar.addfile(_info(directory, tarfile.DIRTYPE, 0o755))
        for path in sorted(files):
            info = _info(path, tarfile.REGTYPE, 0o644)
            info.size = len(files[path])
            tar.addfile(info, io.BytesIO(files[path]))
    diff_id = media.digest_of(raw.getvalue())
    data = gzip.compress(raw.getvalue(), compresslevel=level, mtime=0)
    kind = DOCKER_LAYER if docker else OCI_LAYER
    return Blob(kind, media.digest_of(data), len(data), data=data, diff_id=diff_id)


def random_layer(path: Path, size: int, *, seed: int, docker: bool = False) -> Blob:
    """A layer of `size` incompressible bytes (one file) written to `path`, never all in memory."""
    info = _info(f"random/{seed}.bin", tarfile.REGTYPE, 0o644)
    info.size = size
    header = info.tobuf(format=tarfile.PAX_FORMAT)
    padding = b"\0" * (-size % 512) + b"\0" * 1024
    rng = random.Random(seed)  # noqa: S311 - reproducible filler bytes, not secrets
    diff, packed = hashlib.sha256(), hashlib.sha256()
    with path.open("wb") as out:
        stored = gzip.GzipFile(fileobj=_Tee(out, packed), mode="wb", compresslevel=0, mtime=0)
        with stored:
            for piece in _random_pieces(rng, header, size, padding):
                diff.update(piece)
                stored.write(piece)
    kind = DOCKER_LAYER if docker else OCI_LAYER
    return Blob(
        kind,
        f"sha256:{packed.hexdigest()}",
        path.stat().st_size,
        path=path,
        diff_id=f"sha256:{diff.hexdigest()}",
    )


def image(
    layers: Sequence[Blob],
    *,
    os: str = "linux",
    architecture: str = "amd64",
    variant: str | None = None,
    docker: bool = False,
    config_extra: Mapping[str, object] | None = None,
) -> Image:
    """An image manifest + config for `layers` (OCI, or Docker v2 schema 2 with `docker`)."""
    config_body: dict[str, object] = {
        "architecture": architecture,
        "os": os,
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [b.diff_id for b in layers]},
        "history": [{"created_by": "deployscan imagebuild"} for _ in layers],
    }
    if variant:
        config_body["variant"] = variant
    config_body.update(config_extra or {})
    config_bytes = json.dumps(config_body, sort_keys=True).encode()
    config_type = media.DOCKER_CONFIG if docker else media.OCI_CONFIG
    config = Blob(config_type, media.digest_of(config_bytes), len(config_bytes), data=config_bytes)
    manifest_type = media.DOCKER_MANIFEST if docker else media.OCI_MANIFEST
    body = {
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": config.descriptor(),
        "layers": [b.descriptor() for b in layers],
    }
    platform = f"{os}/{architecture}" + (f"/{variant}" if variant else "")
    manifest = json.dumps(body, indent=2).encode()
    return Image(manifest, manifest_type, config, tuple(layers), platform)


def index(images: Sequence[Image], *, docker: bool = False, attestation: bool = True) -> Index:
    """An index naming `images` by platform, plus an `unknown/unknown` attestation entry."""
    entries = []
    children = list(images)
    for child in images:
        os_name, arch, *variant = child.platform.split("/")
        platform = {
            "architecture": arch,
            "os": os_name,
            **({"variant": variant[0]} if variant else {}),
        }
        entries.append({**_descriptor(child), "platform": platform})
        if attestation and not docker:
            statement = json.dumps({"_type": "https://in-toto.io/Statement/v0.1"}).encode()
            blob = Blob(ATTESTATION_LAYER, media.digest_of(statement), len(statement), statement)
            attest = image([blob], os="unknown", architecture="unknown")
            children.append(attest)
            annotations = {
                "vnd.docker.reference.type": "attestation-manifest",
                "vnd.docker.reference.digest": child.digest,
            }
            unknown = {"architecture": "unknown", "os": "unknown"}
            entries.append({**_descriptor(attest), "platform": unknown, "annotations": annotations})
    kind = media.DOCKER_LIST if docker else media.OCI_INDEX
    body = {"schemaVersion": 2, "mediaType": kind, "manifests": entries}
    return Index(json.dumps(body, indent=2).encode(), kind, tuple(children))


class Pusher:
    """Pushes blobs (monolithic upload, skipped when present) and manifests to one registry."""

    def __init__(
        self,
        base_url: str,
        *,
        auth: tuple[str, str] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.session.auth = auth

    def push_image(self, repository: str, img: Image, tag: str | None = None) -> str:
        """Push the config, layers and manifest (by `tag`, else by digest); return the digest."""
        for blob in (img.config, *img.layers):
            self.push_blob(repository, blob)
        return self.put_manifest(repository, tag or img.digest, img.manifest, img.media_type)

    def push_index(self, repository: str, idx: Index, tag: str | None = None) -> str:
        """Push every child image by digest, then the index; return the index digest."""
        for child in idx.images:
            self.push_image(repository, child)
        return self.put_manifest(repository, tag or idx.digest, idx.manifest, idx.media_type)

    def push_blob(self, repository: str, blob: Blob) -> None:
        """Upload one blob unless the registry already has it."""
        url = f"{self.base_url}/v2/{repository}/blobs/{blob.digest}"
        if self.session.head(url, timeout=30).status_code == 200:
            return
        started = self.session.post(f"{self.base_url}/v2/{repository}/blobs/uploads/", timeout=30)
        _expect(started, 202, "start upload")
        location = requests.compat.urljoin(self.base_url, started.headers["Location"])
        separator = "&" if "?" in location else "?"
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(blob.size)}
        if blob.path is not None:
            with blob.path.open("rb") as body:
                done = self.session.put(
                    f"{location}{separator}digest={blob.digest}", data=body, headers=headers
                )
        else:
            done = self.session.put(
                f"{location}{separator}digest={blob.digest}", data=blob.data, headers=headers
            )
        _expect(done, 201, f"upload {blob.digest}")

    def put_manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> str:
        """PUT a manifest; return the digest the registry reports (checked against ours)."""
        answer = self.session.put(
            f"{self.base_url}/v2/{repository}/manifests/{reference}",
            data=body,
            headers={"Content-Type": media_type},
            timeout=30,
        )
        _expect(answer, 201, f"put manifest {reference}")
        digest = media.digest_of(body)
        if answer.headers.get("Docker-Content-Digest", digest) != digest:
            raise PushError(f"registry stored manifest {reference} under another digest")
        return digest


def _descriptor(img: Image) -> dict[str, object]:
    return {"mediaType": img.media_type, "digest": img.digest, "size": len(img.manifest)}


def _info(name: str, kind: bytes, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = kind, mode, 0
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def _with_parents(directories: Sequence[str]) -> list[str]:
    found: set[str] = set()
    for directory in directories:
        path = Path(directory)
        found.update(str(p) for p in (path, *path.parents) if str(p) != ".")
    return sorted(found)


def _random_pieces(rng: random.Random, header: bytes, size: int, padding: bytes) -> Iterator[bytes]:
    yield header
    left = size
    while left > 0:
        step = min(_CHUNK, left)
        yield rng.randbytes(step)
        left -= step
    yield padding


class _Tee(io.RawIOBase):
    """Writes to `out` while hashing what passes through."""

    def __init__(self, out: io.BufferedWriter, hasher: hashlib._Hash) -> None:
        self.out, self.hasher = out, hasher

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.hasher.update(data)
        return self.out.write(data)


def _expect(answer: requests.Response, status: int, what: str) -> None:
    if answer.status_code != status:
        raise PushError(f"{what}: HTTP {answer.status_code} {answer.text[:200]}")
