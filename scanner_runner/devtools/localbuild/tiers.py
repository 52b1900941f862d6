"""The two CodeBuild compute tiers a local build can emulate: `ec2` and `lambda`.

EC2 compute runs the buildspec as it is (`runtime-versions` is accepted and logged, not switched:
the local build image has one Python). Lambda compute (CodeBuild user guide, "Limitations of AWS
Lambda compute" and "Lambda compute images") takes no `runtime-versions`, no `on-failure`, no
cache, no custom timeout (at most 15 minutes), and writes only under /tmp. Here a Lambda build:
- is refused before any shell runs when its buildspec has runtime-versions, on-failure or cache
  paths;
- gets HOME and TMPDIR in its own temp folder (the images set HOME=/tmp);
- runs at most 15 minutes;
- has each command failed when, after it ran, a guarded path changed: every folder on the build
  image's PATH and its Python's site-packages (entries directly inside them) and, when the source
  is read-only, anything in the source. When not running as root the read-only source is also
  made unwritable (chmod), so a write fails at once, as on AWS.
Not enforced (that would need root or namespaces): writes elsewhere on this machine, changes deep
inside site-packages that leave its top level alone, the real /tmp (allowed, as on AWS), memory
and /tmp size limits, and running as a non-root user.
"""

from __future__ import annotations

import os
import stat
import sysconfig
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dispatcher.buildvars import COMPUTE_TIERS, TIER_EC2, TIER_LAMBDA
from scanner_runner.devtools.localbuild.buildspec import Buildspec
from scanner_runner.devtools.localbuild.errors import BuildspecError, LocalBuildError
from scanner_runner.devtools.localbuild.model import BuildJob

EC2, LAMBDA, TIERS = TIER_EC2, TIER_LAMBDA, COMPUTE_TIERS  # the build-variable contract's
LAMBDA_MAX_SECONDS = 15 * 60
PYCACHE = "__pycache__"
_Snapshot = dict[str, tuple[int, int, int]]


def check_tier(tier: str, spec: Buildspec, source: str) -> None:
    """Refuse what the tier cannot run; raise `BuildspecError` naming every offending part."""
    if tier not in TIERS:
        raise LocalBuildError(f"unknown compute tier {tier!r}: one of {', '.join(TIERS)}")
    if tier == EC2:
        return
    faults = [f"phases.{p.name}.runtime-versions" for p in spec.phases if p.runtime_versions]
    faults += [f"phases.{p.name}.on-failure" for p in spec.phases if p.on_failure_given]
    faults += ["cache.paths"] if spec.cache_paths else []
    if faults:
        raise BuildspecError(f"{source}: Lambda compute does not support {', '.join(faults)}")


@dataclass
class TierRun:
    """What the tier makes of one build: its folders, time limit, cache, write guard, notes."""

    dirs: dict[str, str]
    seconds: float
    cache_dir: Path | None
    guard: WriteGuard | None = None
    locked_source: Path | None = None  # made read-only; `finish` gives write permission back
    notes: list[str] = field(default_factory=list)

    def finish(self) -> None:
        """Undo what `prepare` changed on disk."""
        if self.locked_source is not None:
            make_writable(self.locked_source)


def prepare(job: BuildJob, spec: Buildspec) -> TierRun:
    """Set one build up for its tier (call before its first command)."""
    dirs = tier_environment(job.compute_tier, job.build_dir)
    if job.compute_tier == EC2:
        notes = [
            f"runtime-versions {name}: {version} noted; the local build image is not switched"
            for phase in spec.phases
            for name, version in phase.runtime_versions.items()
        ]
        return TierRun(dirs, job.timeout_seconds, job.cache_dir, notes=notes)
    read_only = not job.source_writable
    locked = read_only and make_read_only(job.src_dir)
    guard = WriteGuard(image_paths(job.base_env), (job.src_dir,) if read_only else ())
    where = dirs["TMPDIR"] + ("" if read_only else " and the source")
    note = f"Lambda compute: writes only under {where}" + (" (source read-only)" if locked else "")
    seconds = min(job.timeout_seconds, LAMBDA_MAX_SECONDS)
    return TierRun(dirs, seconds, None, guard, job.src_dir if locked else None, [note])


def tier_environment(tier: str, build_dir: Path) -> dict[str, str]:
    """HOME and TMPDIR of one build: its own folders (on Lambda compute HOME is the temp folder)."""
    tmp = build_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    home = tmp if tier == LAMBDA else build_dir / "home"
    home.mkdir(parents=True, exist_ok=True)
    return {"HOME": str(home), "TMPDIR": str(tmp)}


def image_paths(base_env: Mapping[str, str]) -> list[Path]:
    """The build image's own folders: those on its PATH and this Python's site-packages."""
    folders = [Path(p) for p in base_env.get("PATH", "").split(os.pathsep) if p]
    folders += [Path(sysconfig.get_paths()[key]) for key in ("purelib", "platlib")]
    return sorted({p.resolve() for p in folders if p.is_dir()})


class WriteGuard:
    """What a Lambda-compute build may not change, compared after each command."""

    def __init__(self, shallow: Iterable[Path], deep: Iterable[Path] = ()) -> None:
        self._shallow, self._deep = tuple(shallow), tuple(deep)
        self._before = self._snapshot()

    def changed(self) -> list[str]:
        """Paths added, removed or modified since the last call (the new state becomes the base)."""
        after = self._snapshot()
        keys = self._before.keys() | after.keys()
        changed = sorted(k for k in keys if self._before.get(k) != after.get(k))
        self._before = after
        return changed

    def _snapshot(self) -> _Snapshot:
        # Python's bytecode caches are left out: on a read-only file system it simply skips them.
        found: _Snapshot = {}
        for folder in self._shallow:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name != PYCACHE:
                        found[entry.path] = _stamp(entry.stat(follow_symlinks=False))
        for root in self._deep:
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = [d for d in dirnames if d != PYCACHE]
                for name in (*dirnames, *filenames):
                    path = os.path.join(dirpath, name)
                    found[path] = _stamp(os.lstat(path))
        return found


def _stamp(info: os.stat_result) -> tuple[int, int, int]:
    if stat.S_ISDIR(info.st_mode):  # a folder's own times change with its entries, seen anyway
        return (info.st_mode, 0, 0)
    return (info.st_mode, info.st_size, info.st_mtime_ns)


def make_read_only(root: Path) -> bool:
    """Take write permission off a tree when that binds this process (not root); True if done."""
    if os.geteuid() == 0:
        return False
    for dirpath, _dirnames, filenames in os.walk(root):
        for path in (dirpath, *(os.path.join(dirpath, f) for f in filenames)):
            mode = os.lstat(path).st_mode
            if not stat.S_ISLNK(mode):
                os.chmod(path, mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return True


def make_writable(root: Path) -> None:
    """Give the owner write permission back (so the build folder can be removed)."""
    for dirpath, _dirnames, filenames in os.walk(root):
        for path in (dirpath, *(os.path.join(dirpath, f) for f in filenames)):
            mode = os.lstat(path).st_mode
            if not stat.S_ISLNK(mode):
                os.chmod(path, mode | stat.S_IWUSR)
