"""Media types, digests and the limits a pull enforces on what a registry sends."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from dispatcher.imageref import is_digest
from scanner_runner.errors import PullError

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"

INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
CONFIG_TYPES = frozenset({OCI_CONFIG, DOCKER_CONFIG})
LAYER_TYPES = frozenset(
    {
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    }
)
# Order matters only to servers that pick the first acceptable type.
ACCEPT = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_CONFIG_BYTES = 8 * 1024 * 1024
MAX_LAYERS = 256
MAX_INDEX_ENTRIES = 1024

_HASHES = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}


def checked_digest(value: object, what: str) -> str:
    """Return `value` if it is an `algorithm:hex` digest we can verify, else raise PullError."""
    if not isinstance(value, str) or not is_digest(value):
        shown = repr(value)[:80]
        raise PullError(f"registry sent an invalid digest for {what}: {shown}")
    return value


def hasher_for(digest: str) -> hashlib._Hash:
    """A fresh hash object for the algorithm named in `digest` (already checked)."""
    return _HASHES[digest.partition(":")[0]]()


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    """`algorithm:hex` of `data`."""
    return f"{algorithm}:{_HASHES[algorithm](data).hexdigest()}"


def verify_bytes(data: bytes, digest: str, what: str) -> None:
    """Raise PullError unless `data` hashes to `digest`."""
    actual = digest_of(data, digest.partition(":")[0])
    if actual != digest:
        raise PullError(f"digest mismatch for {what}: expected {digest}, got {actual}")


@dataclass(frozen=True)
class Descriptor:
    """A validated content descriptor: what to fetch, how big it must be, how to verify it."""

    media_type: str
    digest: str
    size: int
    platform: str | None = None

    @classmethod
    def parse(cls, raw: object, what: str, *, limit: int | None = None) -> Descriptor:
        """Validate a descriptor object from a manifest (types, digest form, size bounds)."""
        if not isinstance(raw, dict):
            raise PullError(f"{what} is not a descriptor object")
        media_type = raw.get("mediaType")
        size = raw.get("size")
        if not isinstance(media_type, str):
            raise PullError(f"{what} has no mediaType")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise PullError(f"{what} has an invalid size: {size!r}"[:120])
        if limit is not None and size > limit:
            raise PullError(f"{what} is {size} bytes, over the {limit}-byte limit")
        return cls(media_type, checked_digest(raw.get("digest"), what), size)

    @property
    def hex(self) -> str:
        """The encoded part of the digest (safe in a path: checked to be lowercase hex)."""
        return self.digest.partition(":")[2]

    @property
    def algorithm(self) -> str:
        """`sha256` or `sha512`."""
        return self.digest.partition(":")[0]

    def as_json(self) -> dict[str, object]:
        """The descriptor as an OCI JSON object."""
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


def is_digest_text(value: str) -> bool:
    """True when a manifest reference is a digest rather than a tag."""
    return ":" in value and is_digest(value)
