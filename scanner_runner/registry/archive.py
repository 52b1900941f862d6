"""Tar archives laid out ahead of time, so blobs stream straight into their final place.

Every member's size is known before any download (descriptor sizes are enforced), so the tar
headers and offsets are computed first; downloads then write their bytes with `os.pwrite` at
their own offsets, in parallel, with no second copy. The file is a temp file renamed into place
only when complete; on failure it is removed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from scanner_runner.errors import PullError
from scanner_runner.registry.media import Descriptor

BLOCK = 512


@dataclass(frozen=True)
class Member:
    """One tar entry: inline `data`, a `blob` to download into place, or a directory."""

    name: str
    data: bytes | None = None
    blob: Descriptor | None = None
    directory: bool = False

    @property
    def size(self) -> int:
        """The member's byte count."""
        if self.blob is not None:
            return self.blob.size
        return len(self.data or b"")


@dataclass(frozen=True)
class PulledImage:
    """What an archive format needs to lay out an image."""

    name: str
    tag: str | None
    manifest: Descriptor
    manifest_bytes: bytes
    config: Descriptor
    config_bytes: bytes
    layers: tuple[Descriptor, ...]


class ArchiveFormat(Protocol):
    """An archive format: lays an image out as tar members."""

    def __call__(self, image: PulledImage) -> list[Member]:
        """Members in tar order; each blob appears once."""
        ...


class Layout:
    """Tar headers and data offsets for `members`, computed before anything is written."""

    def __init__(self, members: list[Member]) -> None:
        self.members = members
        self.headers: list[tuple[int, bytes]] = []
        self.blob_offsets: dict[str, int] = {}
        position = 0
        for member in members:
            header = _header(member)
            self.headers.append((position, header))
            position += len(header)
            if member.blob is not None:
                self.blob_offsets[member.blob.digest] = position
            position += _padded(member.size)
        self.size = position + 2 * BLOCK

    def write_fixed(self, fd: int) -> None:
        """Size the file and write every header and inline member."""
        os.ftruncate(fd, self.size)
        for (offset, header), member in zip(self.headers, self.members, strict=True):
            data = header + (member.data or b"")
            _pwrite_all(fd, data, offset)


@contextlib.contextmanager
def atomic_output(output: Path) -> Iterator[tuple[int, Path]]:
    """A temp file beside `output`, renamed onto it on success and removed on any failure."""
    if output.is_dir():
        raise PullError(f"output {output} is a directory")
    if not output.parent.is_dir():
        raise PullError(f"output directory {output.parent} does not exist")
    temp = output.with_name(f".{output.name}.{secrets.token_hex(4)}.part")
    try:
        fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError as exc:
        raise PullError(f"cannot create {temp}: {exc.strerror}") from exc
    try:
        try:
            yield fd, temp
        finally:
            os.close(fd)
        os.replace(temp, output)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def blob_writer(fd: int, base: int) -> Callable[[int, bytes], None]:
    """A `write(offset, chunk)` callable writing at `base + offset` in `fd`."""

    def write(offset: int, chunk: bytes) -> None:
        _pwrite_all(fd, chunk, base + offset)

    return write


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def _header(member: Member) -> bytes:
    info = tarfile.TarInfo(member.name)
    info.mtime = 0
    info.uname = info.gname = ""
    if member.directory:
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
    else:
        info.size = member.size
        info.mode = 0o644
    return info.tobuf(format=tarfile.PAX_FORMAT)


def _padded(size: int) -> int:
    return (size + BLOCK - 1) // BLOCK * BLOCK
