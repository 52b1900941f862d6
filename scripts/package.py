#!/usr/bin/env python3
"""Build the two deployable artifacts: the dispatcher Lambda zip and the runner bundle.

- dispatcher zip: the `dispatcher/` package only, at the zip root (boto3 comes from the Lambda
  runtime), so the handler is `dispatcher.handler.lambda_handler`.
- runner bundle: `pyproject.toml`, `README.md`, `dispatcher/`, `scanner_runner/` (without
  `scanner_runner/devtools/`, which never ships to a build) and `buildspecs/` (with `scan.yml`) at
  the zip root, plus `wheelhouse/`: the runner as a wheel built from those files, the locked
  wheels of its dependencies, of syft and of uv for every build platform (scripts/wheelhouse.py),
  and `requirements.txt` / `syft.txt` / `uv.txt` pinning each by sha256. The buildspec installs
  from there (buildspecs/install_runner.py: uv with `--no-index --require-hashes`): a build
  reaches no package index and runs what was packaged.
  `runner_members` is the one list of source files; `runner_bundle` adds the wheelhouse, and the
  local build executor lays out a build's source with it (`--stage`).

Zips are reproducible (sorted entries, fixed timestamps and modes), and each file name carries
the first 16 hex digits of its sha256, so a changed build gets a new S3 key and CloudFormation
updates the function and project. Stdlib only: it runs before any virtualenv exists; the wheels
must be in the cache first (`make wheelhouse-all`; `make package` does it).

Usage: package.py [--root DIR] [--out DIR] [--targets all|host|NAME,...]   zips both artifacts,
         prints KEY=VALUE lines and writes DIR/package.env
       package.py --stage DIR [--targets host]   lays the runner bundle's files out in DIR
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from runnerwheel import WheelError, build_wheel
from wheelhouse import (
    ALL_TARGETS,
    LOCKS,
    Target,
    WheelhouseError,
    cache_root,
    lock_files,
    parse_targets,
    select_wheels,
)

KEY_PREFIX = "deployscan"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
SKIP_DIRS = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache"})
SKIP_SUFFIXES = (".pyc", ".pyo")

DISPATCHER_TREES = ("dispatcher",)
RUNNER_FILES = ("pyproject.toml", "README.md", "buildspecs/scan.yml")
RUNNER_TREES = ("dispatcher", "scanner_runner", "buildspecs")
# The workshop (local build executor, demo, image builder, local registry): no build needs it.
RUNNER_EXCLUDED = ("scanner_runner/devtools",)
# Modules each artifact cannot work without; a missing one is a packaging error, not a deploy.
DISPATCHER_REQUIRED = ("dispatcher/__init__.py", "dispatcher/handler.py")
RUNNER_REQUIRED = (*RUNNER_FILES, "scanner_runner/__init__.py")
INSTALLER = "buildspecs/install_runner.py"  # required once the bundle carries a wheelhouse
WHEELHOUSE = "wheelhouse"
# Each lock ships as the requirements file the buildspec installs with --require-hashes.
REQUIREMENT_FILES = dict(zip(LOCKS, ("requirements.txt", "syft.txt", "uv.txt"), strict=True))


class PackageError(Exception):
    """The source tree cannot be packaged (a required file is missing or unsafe)."""


@dataclass(frozen=True)
class Member:
    """One file of an artifact: its name in the zip and either its source file or its bytes."""

    name: str
    path: Path | None = None
    data: bytes | None = None

    def read(self) -> bytes:
        """The member's bytes."""
        if self.data is not None:
            return self.data
        if self.path is None:
            raise PackageError(f"{self.name}: a member needs a path or bytes")
        return self.path.read_bytes()


@dataclass(frozen=True)
class Artifact:
    """One built zip: where it is on disk and the S3 key it should be uploaded to."""

    name: str
    path: Path
    key: str
    sha256: str


def _tree_files(root: Path, tree: str, excluded: tuple[str, ...] = ()) -> list[str]:
    """Relative paths of the regular files under root/tree, sorted; caches, symlinks and the
    excluded folders (relative to root) left out."""
    base = root / tree
    if not base.is_dir():
        raise PackageError(f"missing directory: {tree}/")
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(base):
        here = Path(dirpath).relative_to(root)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in SKIP_DIRS
            and not d.startswith(".")
            and (here / d).as_posix() not in excluded
        )
        for filename in filenames:
            path = Path(dirpath) / filename
            if filename.endswith(SKIP_SUFFIXES) or filename.startswith("."):
                continue
            if path.is_symlink():
                raise PackageError(f"refusing to package a symlink: {path.relative_to(root)}")
            found.append(path.relative_to(root).as_posix())
    return sorted(found)


def collect(
    root: Path, files: tuple[str, ...], trees: tuple[str, ...], excluded: tuple[str, ...] = ()
) -> list[str]:
    """The sorted member list of one artifact; raises PackageError when a file is missing."""
    members = set()
    for name in files:
        if not (root / name).is_file():
            raise PackageError(f"missing file: {name}")
        members.add(name)
    for tree in trees:
        members.update(_tree_files(root, tree, excluded))
    return sorted(members)


def runner_members(root: Path) -> list[str]:
    """The runner bundle's members in the tree at root: what a build gets as its source."""
    return collect(root, RUNNER_FILES, RUNNER_TREES, RUNNER_EXCLUDED)


def write_zip(members: Iterable[Member], dest: Path) -> str:
    """Write a reproducible zip of members to dest atomically; return its sha256."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-", suffix=".zip")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with zipfile.ZipFile(tmp, "w") as archive:
            for member in sorted(members, key=lambda m: m.name):
                info = zipfile.ZipInfo(member.name, date_time=FIXED_TIME)
                info.external_attr = 0o644 << 16
                # Wheels are zips already: storing them saves time and no space.
                stored = member.name.endswith(".whl")
                info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
                archive.writestr(info, member.read())
        digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
        tmp.replace(dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return digest


def runner_bundle(
    root: Path, targets: Iterable[Target] = ALL_TARGETS, cache: Path | None = None
) -> list[Member]:
    """The runner bundle's members: the source files, then the wheelhouse for `targets`.

    A tree without lock files gets no wheelhouse (its builds fail at install, never unpinned).
    """
    names = runner_members(root)
    members = [Member(name, root / name) for name in names]
    locks = lock_files(root)
    if not locks:
        print("package: no requirements/*.lock: the bundle has no wheelhouse", file=sys.stderr)
        return members
    if INSTALLER not in names:
        raise PackageError(f"missing file: {INSTALLER} (it installs the wheelhouse)")
    filename, project, version, wheel = build_wheel(root, names)
    wheels = select_wheels(root, cache or cache_root(), targets)
    members.append(Member(f"{WHEELHOUSE}/{filename}", data=wheel))
    members += [Member(f"{WHEELHOUSE}/{name}", path) for name, path in sorted(wheels.items())]
    for lock in locks:
        text = lock.read_text(encoding="utf-8")
        if lock == root / LOCKS[0]:  # the runner itself, pinned like its dependencies
            digest = hashlib.sha256(wheel).hexdigest()
            text += f"{project}=={version} --hash=sha256:{digest}\n"
        name = REQUIREMENT_FILES[lock.relative_to(root).as_posix()]
        members.append(Member(f"{WHEELHOUSE}/{name}", data=text.encode()))
    return members


def stage(members: Iterable[Member], target: Path) -> Path:
    """Lay members out as files under target (a build's source folder); return target."""
    for member in members:
        dest = target / member.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        # Copies, not links: a build that writes to its source never reaches the wheel cache.
        if member.path is not None:
            shutil.copyfile(member.path, dest)
        else:
            dest.write_bytes(member.read())
    return target


def _build(out: Path, name: str, members: list[Member], required: tuple[str, ...]) -> Artifact:
    names = {m.name for m in members}
    missing = [r for r in required if r not in names]
    if missing:
        raise PackageError(f"{name}: missing {', '.join(missing)}")
    staging = out / f"{name}.zip"
    digest = write_zip(members, staging)
    final = out / f"{name}-{digest[:16]}.zip"
    for stale in out.glob(f"{name}-*.zip"):
        stale.unlink()
    staging.replace(final)
    return Artifact(name, final, f"{KEY_PREFIX}/{final.name}", digest)


def build_all(
    root: Path, out: Path, targets: Iterable[Target] = ALL_TARGETS, cache: Path | None = None
) -> list[Artifact]:
    """Build the dispatcher zip and the runner bundle (wheels for `targets`) from root into out."""
    dispatcher = [Member(n, root / n) for n in collect(root, (), DISPATCHER_TREES)]
    try:
        runner = runner_bundle(root, targets, cache)
    except (WheelError, WheelhouseError) as exc:
        raise PackageError(str(exc)) from exc
    return [
        _build(out, "dispatcher", dispatcher, DISPATCHER_REQUIRED),
        _build(out, "runner", runner, RUNNER_REQUIRED),
    ]


def render_env(artifacts: list[Artifact]) -> str:
    """KEY=VALUE lines the deploy script reads (paths and S3 keys of both artifacts)."""
    lines = []
    for artifact in artifacts:
        upper = artifact.name.upper()
        lines.append(f"{upper}_ZIP={artifact.path}")
        lines.append(f"{upper}_KEY={artifact.key}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: build both artifacts (or stage the bundle), print what was made."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--out", type=Path, default=None, help="default: ROOT/build/package")
    parser.add_argument("--targets", default="all", help="all | host | NAME[,NAME...]")
    parser.add_argument("--stage", type=Path, default=None, help="lay the bundle out in DIR")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    try:
        targets = parse_targets(args.targets)
        if args.stage is not None:
            stage(runner_bundle(root, targets), args.stage)
            return 0
        out = (args.out or root / "build" / "package").resolve()
        artifacts = build_all(root, out, targets)
    except (PackageError, WheelError, WheelhouseError, OSError) as exc:
        print(f"package: {exc}", file=sys.stderr)
        return 2
    env = render_env(artifacts)
    tmp = out / ".package.env.tmp"
    tmp.write_text(env)
    tmp.replace(out / "package.env")
    print(env, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
