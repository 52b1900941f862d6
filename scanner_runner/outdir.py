"""The output directory: claimed by one scan before anything in it is written or removed.

A directory deployscan writes to gets a marker file (`MARKER`) on first use; only in a marked
directory are earlier outputs cleared. An unmarked directory that already holds one of the names
the runner writes is refused before anything is touched. The marker doubles as the lock file, so
two scans never write into one directory at the same time.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from scanner_runner import publish as publishing
from scanner_runner import writers
from scanner_runner.errors import OutputDirError

MARKER = ".deployscan-output"
_MARKER_TEXT = (
    b"deployscan scan writes its reports here and clears them at the start of each run.\n"
    b"This file marks the directory as deployscan's and is its lock; do not remove it.\n"
)


def owned_names() -> tuple[str, ...]:
    """Every name the runner writes in its output directory (files first, then directories)."""
    files = [f.filename for f in writers.FORMATS.values()]
    return (*files, publishing.SBOM_FILE, publishing.EXPORTED_FILE, *publishing.RAW_DIRS)


@contextlib.contextmanager
def claim(directory: Path) -> Iterator[None]:
    """Hold `directory` for this scan, marked as deployscan's and locked until the block ends.
    OutputDirError, before anything is touched, when it is not a directory, holds runner names
    without the marker (usage), or is locked by another scan."""
    if directory.exists() and not directory.is_dir():
        raise OutputDirError(f"--output-dir {directory} is not a directory", usage=True)
    marker = directory / MARKER
    if not (marker.is_file() and not marker.is_symlink()):
        foreign = [_shown(directory, n) for n in owned_names() if os.path.lexists(directory / n)]
        if foreign:
            raise OutputDirError(
                f"--output-dir {directory} already holds {', '.join(foreign)}, which deployscan "
                "did not write (no marker file); choose a new or empty directory",
                usage=True,
            )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(marker, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise OutputDirError(f"cannot use --output-dir {directory}: {exc.strerror}") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise OutputDirError(
                f"another deployscan scan is writing to {directory}; wait for it to finish "
                "or choose another --output-dir"
            ) from exc
        except OSError as exc:
            raise OutputDirError(f"cannot lock --output-dir {directory}: {exc.strerror}") from exc
        if os.fstat(fd).st_size == 0:
            os.write(fd, _MARKER_TEXT)
        yield
    finally:
        os.close(fd)  # releases the lock; the marker stays, it is what makes the directory ours


def clear(directory: Path) -> None:
    """Remove the runner's outputs from a directory this process has claimed."""
    for name in owned_names():
        path = directory / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif os.path.lexists(path):
            path.unlink()


def _shown(directory: Path, name: str) -> str:
    path = directory / name
    return f"{name}/" if path.is_dir() and not path.is_symlink() else name
