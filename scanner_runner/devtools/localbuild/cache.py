"""The buildspec `cache: paths:` between local builds, kept inside the executor's own folders.

CodeBuild's standard images run as root with HOME=/root, so cache paths are written under
`/root/`. Locally each build gets its own HOME; a cache path under `/root/` (or `~/`) maps onto it,
so nothing outside the executor's folders is ever read or written. Other paths are not cached.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

_HOME_PREFIXES = ("/root/", "~/")


def home_relative(pattern: str) -> str | None:
    """The part of a cache path below HOME, or None when the path is not under HOME."""
    for prefix in _HOME_PREFIXES:
        if pattern.startswith(prefix):
            return pattern[len(prefix) :]
    return None


def restore(cache_dir: Path | None, home: Path) -> int:
    """Copy the saved cache into a fresh build HOME; return how many files were restored."""
    if cache_dir is None or not cache_dir.is_dir():
        return 0
    shutil.copytree(cache_dir, home, dirs_exist_ok=True, symlinks=True)
    return sum(1 for p in cache_dir.rglob("*") if p.is_file())


def save(cache_dir: Path | None, home: Path, patterns: Iterable[str]) -> int:
    """Copy the files matching the cache paths from the build HOME into the cache."""
    if cache_dir is None:
        return 0
    saved = 0
    for pattern in patterns:
        relative = home_relative(pattern)
        if relative is None:
            continue
        for path in home.glob(relative):
            if not path.is_file() or path.is_symlink():
                continue
            target = cache_dir / path.relative_to(home)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            saved += 1
    return saved
