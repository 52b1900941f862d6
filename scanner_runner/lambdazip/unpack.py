"""Unpack a verified Lambda zip into a directory, refusing everything that could leave it.

Every entry is checked before a byte is written: no absolute path, drive letter, backslash or
`..`; no device, FIFO or socket; no duplicate name; no entries that overlap in the file (the
overlapping-entry zip bomb); no entry expanding more than MAX_RATIO times once it is over
RATIO_FLOOR bytes; and the declared sizes and file count within the `Budget` shared by the
function and its layers (Lambda's own limit: 250 MB unzipped, function and layers together).
Bytes are counted again while writing. Regular files are written first, never through a symlink
(every parent directory is checked with lstat); symlinks come last and only when their target
stays inside the tree without passing through another symlink. Zip has no hard links.
"""

from __future__ import annotations

import errno
import itertools
import os
import posixpath
import stat
import threading
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from scanner_runner.errors import PullError

LAMBDA_UNZIPPED_LIMIT = 262_144_000  # "Unzipped size must be smaller than 262144000 bytes"
# Lambda states no file-count limit; this bound only keeps a hostile package from costing hours
# of inode churn (a 250 MB function has typically a few thousand to 20,000 files).
MAX_FILES = 100_000
MAX_RATIO = 200  # deflate tops out near 1030:1; real code and libraries stay far below 200
RATIO_FLOOR = 1 << 20  # smaller entries may compress as they like (a file of spaces, say)
MAX_LINK_TARGET = 4096
CHUNK = 1 << 20
WRITERS = 2  # threads writing files (CodeBuild's small Lambda compute has 2 vCPUs)
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW


@dataclass
class Budget:
    """What the packages unpacked so far may still add (shared by a function and its layers)."""

    max_bytes: int = LAMBDA_UNZIPPED_LIMIT
    max_files: int = MAX_FILES
    used_bytes: int = 0
    used_files: int = 0

    def take(self, size: int, what: str) -> None:
        """Count one entry of `size` bytes; PullError when the budget is exceeded."""
        self.used_bytes += size
        self.used_files += 1
        if self.used_bytes > self.max_bytes:
            raise PullError(
                f"{what} unpacks to more than {self.max_bytes} bytes (Lambda's unzipped limit)"
            )
        if self.used_files > self.max_files:
            raise PullError(f"{what} holds more than {self.max_files} files")


def unpack(archive: Path, dest: Path, budget: Budget, what: str) -> int:
    """Unpack `archive` into `dest` (created), checked as the module says; the number of files.

    PullError for anything refused; what was written stays inside `dest`.
    """
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            _check_layout(infos, archive.stat().st_size, what)
            files, links = _classify(infos, budget, what)
            dest.mkdir(parents=True, exist_ok=True)
            root = dest.resolve()
            real_dirs: set[str] = {str(root)}
            targets = [_real_parent(root, i.filename, real_dirs, what) for i in files]
            _write_all(archive, list(zip(files, targets, strict=True)), what)
            names = {i.filename for i in links}
            for info in links:
                _link(zf, info, root, real_dirs, link_names=names, what=what)
    except zipfile.BadZipFile as exc:
        raise PullError(f"{what} is not a valid zip: {exc}") from exc
    except (zipfile.LargeZipFile, NotImplementedError, EOFError, zlib.error) as exc:
        raise PullError(f"{what} cannot be unpacked: {exc}") from exc
    return len(files)


def safe_name(name: str, what: str) -> str:
    """The entry's relative POSIX path; PullError for absolute, `..`, drive or odd names."""
    if not name or "\x00" in name or "\\" in name:
        raise PullError(f"{what}: entry name {name[:120]!r} has a NUL or backslash")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise PullError(f"{what}: absolute entry path {name[:120]!r}")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise PullError(f"{what}: entry path {name[:120]!r} leaves the tree")
    return "/".join(parts)


def _check_layout(infos: list[zipfile.ZipInfo], zip_size: int, what: str) -> None:
    """Entries must not overlap one another in the file (each starts after the previous ends)."""
    spans = sorted((i.header_offset, i.header_offset + i.compress_size) for i in infos)
    for (_, end), (start, _) in itertools.pairwise(spans):
        if start < end:
            raise PullError(f"{what}: zip entries overlap (a zip bomb)")
    if spans and spans[-1][1] > zip_size:
        raise PullError(f"{what}: an entry runs past the end of the zip")


def _classify(
    infos: list[zipfile.ZipInfo], budget: Budget, what: str
) -> tuple[list[zipfile.ZipInfo], list[zipfile.ZipInfo]]:
    files: list[zipfile.ZipInfo] = []
    links: list[zipfile.ZipInfo] = []
    seen: set[str] = set()
    for info in infos:
        name = safe_name(info.filename, what)
        mode = info.external_attr >> 16 if info.create_system == 3 else 0
        kind = stat.S_IFMT(mode)
        if kind in (stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK):
            raise PullError(f"{what}: {name[:120]} is a device, FIFO or socket")
        if info.is_dir():
            continue
        if name in seen:
            raise PullError(f"{what}: {name[:120]} appears twice")
        seen.add(name)
        size = info.file_size
        if size > RATIO_FLOOR and size > MAX_RATIO * max(info.compress_size, 1):
            raise PullError(
                f"{what}: {name[:120]} expands {size // max(info.compress_size, 1)}:1 (a zip bomb)"
            )
        budget.take(size, what)
        info.filename = name
        (links if kind == stat.S_IFLNK else files).append(info)
    return files, links


def _real_parent(root: Path, name: str, real_dirs: set[str], what: str) -> str:
    """The entry's parent directory (a string: this runs once per file), created; PullError if
    any part of it is a symlink or a file."""
    parent = str(root)
    for part in name.split("/")[:-1]:
        parent = f"{parent}/{part}"
        if parent in real_dirs:
            continue
        try:
            info = os.lstat(parent)
        except FileNotFoundError:
            os.mkdir(parent)
        else:
            if not stat.S_ISDIR(info.st_mode):
                raise PullError(f"{what}: {name[:120]} would be written through a link or file")
        real_dirs.add(parent)
    return parent


def _write_all(archive: Path, jobs: list[tuple[zipfile.ZipInfo, str]], what: str) -> None:
    """Write the files (their directories exist and were checked) in WRITERS threads, each with
    its own handle on the zip: inflating and file creation release the GIL, so two cores share
    the work of 20,000 small files. The first error wins; the others stop at their next file."""
    if len(jobs) < 2 * WRITERS:
        with zipfile.ZipFile(archive) as zf:
            for info, parent in jobs:
                _write(zf, info, parent, what)
        return
    failed: list[BaseException] = []

    def work(share: list[tuple[zipfile.ZipInfo, str]]) -> None:
        try:
            with zipfile.ZipFile(archive) as zf:
                for info, parent in share:
                    if failed:
                        return
                    _write(zf, info, parent, what)
        except BaseException as exc:  # handed to the caller below
            failed.append(exc)

    # Contiguous shares: entries of one directory sit together in a zip, and two threads
    # creating files in one directory wait on its lock.
    size = -(-len(jobs) // WRITERS)
    shares = [jobs[n : n + size] for n in range(0, len(jobs), size)]
    threads = [threading.Thread(target=work, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failed:
        raise failed[0]


def _write(zf: zipfile.ZipFile, info: zipfile.ZipInfo, parent: str, what: str) -> None:
    path = f"{parent}/{info.filename.rsplit('/', 1)[-1]}"
    mode = 0o755 if (info.external_attr >> 16) & 0o111 else 0o644
    try:
        fd = os.open(path, _WRITE_FLAGS, mode)
    except OSError as exc:  # ELOOP: an earlier layer's link; replaced, never followed
        if exc.errno != errno.ELOOP:
            raise
        os.unlink(path)
        fd = os.open(path, _WRITE_FLAGS, mode)
    written = 0
    with zf.open(info) as source, os.fdopen(fd, "wb") as out:
        while chunk := source.read(CHUNK):
            written += len(chunk)
            if written > info.file_size:  # zipfile stops at the declared size; belt and braces
                raise PullError(f"{what}: {info.filename[:120]} is larger than it declares")
            out.write(chunk)


def _link(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    root: Path,
    real: set[str],
    *,
    link_names: set[str],
    what: str,
) -> None:
    name = info.filename
    if info.file_size > MAX_LINK_TARGET:
        raise PullError(f"{what}: symlink {name[:120]} has an oversized target")
    target = zf.read(info).decode("utf-8", errors="replace")
    if not target or "\x00" in target or target.startswith("/"):
        raise PullError(f"{what}: symlink {name[:120]} points outside the tree ({target[:80]!r})")
    walked = name.split("/")[:-1]
    steps = [p for p in target.split("/") if p not in ("", ".")]
    for index, part in enumerate(steps):
        if part == "..":
            if not walked:
                raise PullError(f"{what}: symlink {name[:120]} points outside the tree")
            walked.pop()
            continue
        walked.append(part)
        through = "/".join(walked)
        if index < len(steps) - 1 and (through in link_names or (root / through).is_symlink()):
            raise PullError(f"{what}: symlink {name[:120]} resolves through another symlink")
    path = Path(_real_parent(root, name, real, what)) / posixpath.basename(name)
    if path.is_symlink() or path.exists():
        if path.is_dir() and not path.is_symlink():
            raise PullError(f"{what}: symlink {name[:120]} would replace a directory")
        path.unlink()
    os.symlink(target, path)
