"""Verify an archive's layers before a scanner reads them, streaming, in bounded memory.

Each layer is read once: the stored blob is hashed against the manifest's digest and size (an
oci-archive), decompressed in 1 MiB steps and the result hashed against the config's diff_id
(both formats), and what every layer unpacks to is counted against `max_unpacked`, so a
decompression bomb is refused before a scanner writes it out. The pulled and the given archive
are checked alike (fail closed).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import importlib
import importlib.util
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from scanner_runner.errors import ScannerError
from scanner_runner.scanners.archive import ArchiveInfo, Layer

DEFAULT_MAX_UNPACKED_BYTES = 10 * 1024**3  # 10 GiB; the MAX_UNPACKED_BYTES setting
CHUNK = 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def verify_layers(path: Path, info: ArchiveInfo, max_unpacked: int) -> int:
    """Check every layer `info` names in the archive at `path`; the bytes they unpack to.

    ScannerError when a layer is missing, is not what its manifest or config says, or the
    layers together unpack to more than `max_unpacked` bytes.
    """
    try:
        with tarfile.open(path, mode="r:") as tar:
            members = {
                m.name.lstrip("./"): m
                for m in tar.getmembers()
                if m.isfile() or m.islnk() or m.issym()  # `docker save` links repeated layers
            }
            unpacked: dict[Layer, int] = {}
            total = 0
            for layer in info.layers:
                if layer not in unpacked:
                    left = max_unpacked - total
                    unpacked[layer] = _verify(tar, members.get(layer.name), layer, left)
                total += unpacked[layer]  # a repeated layer is unpacked again by a scanner
                if total > max_unpacked:
                    raise _too_large(max_unpacked)
    except _TooLarge as exc:
        raise _too_large(max_unpacked) from exc
    except (OSError, tarfile.TarError, KeyError) as exc:
        raise ScannerError(f"cannot read the layers of {path.name}: {exc}") from exc
    return total


class _TooLarge(Exception):
    """A layer unpacked past what was left of the limit (named by `verify_layers`)."""


def _too_large(limit: int) -> ScannerError:
    return ScannerError(
        f"the image's layers unpack to more than {limit} bytes (MAX_UNPACKED_BYTES); "
        "refused before scanning"
    )


def _verify(tar: tarfile.TarFile, member: tarfile.TarInfo | None, layer: Layer, left: int) -> int:
    what = layer.digest or layer.name
    if member is None:
        raise ScannerError(f"archive lacks layer {what}")
    if layer.size >= 0 and member.size != layer.size:
        raise ScannerError(
            f"archive layer {what} is {member.size} bytes, not the {layer.size} its manifest says"
        )
    handle = tar.extractfile(member)
    if handle is None:
        raise ScannerError(f"archive layer {what} is not a file")
    stored = _Hashing(handle, layer.digest)
    if layer.digest and _zstd_unreadable(stored):
        # No zstd decompressor here (Python < 3.14 without zstandard): the stored blob is still
        # verified against the manifest, which fixes its content; the unpacked-size bound and
        # the diff_id check need the decompressed stream, so they do not apply to this layer.
        stored.drain()
        if stored.digest() != layer.digest:
            raise ScannerError(
                f"archive layer {what} does not match its digest (got {stored.digest()})"
            )
        return 0
    content = hashlib.new(layer.diff_id.partition(":")[0] or "sha256")
    count = 0
    try:
        with _decompressed(stored, what) as stream:
            while chunk := stream.read(CHUNK):
                count += len(chunk)
                if count > left:
                    raise _TooLarge
                content.update(chunk)
        stored.drain()
    except (ScannerError, _TooLarge):
        raise
    except Exception as exc:  # each decompressor has its own error types; any is a bad layer
        raise ScannerError(f"archive layer {what} does not decompress: {exc}") from exc
    if layer.digest and stored.digest() != layer.digest:
        raise ScannerError(
            f"archive layer {what} does not match its digest (got {stored.digest()})"
        )
    actual = f"{content.name}:{content.hexdigest()}"
    if actual != layer.diff_id:
        raise ScannerError(
            f"archive layer {what} does not match the config's diff_id {layer.diff_id} "
            f"(it unpacks to {actual})"
        )
    return count


class _Hashing:
    """A read-only stream that hashes (with the digest's algorithm) what passes through it."""

    def __init__(self, raw: IO[bytes], digest: str) -> None:
        self.raw = raw
        self.hasher = hashlib.new(digest.partition(":")[0] or "sha256")
        self.pending = b""  # read ahead by `head`, not yet handed out

    def head(self, size: int) -> bytes:
        """The first `size` bytes, still to be read."""
        if not self.pending:
            self.pending = self._next(CHUNK)
        return self.pending[:size]

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes, at most one chunk (never the whole blob at once)."""
        size = CHUNK if size < 0 else min(size, CHUNK)
        if self.pending:
            data, self.pending = self.pending[:size], self.pending[size:]
            return data
        return self._next(size)

    def drain(self) -> None:
        """Hash whatever a decompressor left unread."""
        while self.read(CHUNK):
            pass

    def digest(self) -> str:
        """`algorithm:hex` of everything read."""
        return f"{self.hasher.name}:{self.hasher.hexdigest()}"

    def _next(self, size: int) -> bytes:
        data = self.raw.read(size)
        self.hasher.update(data)
        return data


def _decompressed(stored: _Hashing, what: str) -> Any:
    """The layer's tar stream: gunzipped, un-zstd'ed, or as stored (by its magic bytes)."""
    head = stored.head(4)
    if head.startswith(_GZIP_MAGIC):
        return gzip.GzipFile(fileobj=stored, mode="rb")  # type: ignore[call-overload]
    if head.startswith(_ZSTD_MAGIC):
        opened = _zstd_reader(stored)
        if opened is None:
            raise ScannerError(
                f"archive layer {what} is zstd-compressed and this Python has no zstd "
                "decompressor to bound what it unpacks to (Python 3.14, or the zstandard package)"
            )
        return opened
    return contextlib.nullcontext(stored)


def _zstd_unreadable(stored: _Hashing) -> bool:
    """True for a zstd layer this Python cannot decompress."""
    return stored.head(4).startswith(_ZSTD_MAGIC) and _zstd_module() is None


def _zstd_module() -> str | None:
    for module in ("compression.zstd", "zstandard"):
        if importlib.util.find_spec(module.split(".")[0]) is not None:
            try:
                importlib.import_module(module)
            except ImportError:
                continue
            return module
    return None


def _zstd_reader(stored: _Hashing) -> Any:
    openers: tuple[tuple[str, Callable[[Any], Any]], ...] = (
        ("compression.zstd", lambda m: m.ZstdFile(stored, mode="rb")),
        ("zstandard", lambda m: m.ZstdDecompressor().stream_reader(stored)),
    )
    for module, opener in openers:
        try:
            return opener(importlib.import_module(module))
        except ImportError:
            continue
    return None
