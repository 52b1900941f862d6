#!/usr/bin/env python3
"""Build the two deployable artifacts: the dispatcher Lambda zip and the runner bundle.

- dispatcher zip: the `dispatcher/` package only, at the zip root (boto3 comes from the Lambda
  runtime), so the handler is `dispatcher.handler.lambda_handler`.
- runner bundle: `pyproject.toml`, `README.md`, `dispatcher/`, `scanner_runner/` (without
  `scanner_runner/devtools/`, which never ships to a build) and `buildspecs/` (with `scan.yml`) at
  the zip root; CodeBuild unpacks it and the buildspec runs `pip install .`. `runner_members` is
  the one definition of that list: the local build executor copies a build's source with it.

Zips are reproducible (sorted entries, fixed timestamps and modes), and each file name carries
the first 16 hex digits of its sha256, so a changed build gets a new S3 key and CloudFormation
updates the function and project. Stdlib only: it runs before any virtualenv exists.

Usage: package.py [--root DIR] [--out DIR]   prints KEY=VALUE lines and writes DIR/package.env
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

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


class PackageError(Exception):
    """The source tree cannot be packaged (a required file is missing or unsafe)."""


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


def write_zip(root: Path, members: list[str], dest: Path) -> str:
    """Write a reproducible zip of members (relative to root) to dest atomically; return sha256."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-", suffix=".zip")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for member in members:
                info = zipfile.ZipInfo(member, date_time=FIXED_TIME)
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, (root / member).read_bytes())
        digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
        tmp.replace(dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return digest


def _build(
    root: Path, out: Path, name: str, members: list[str], required: tuple[str, ...]
) -> Artifact:
    missing = [r for r in required if r not in members]
    if missing:
        raise PackageError(f"{name}: missing {', '.join(missing)}")
    staging = out / f"{name}.zip"
    digest = write_zip(root, members, staging)
    final = out / f"{name}-{digest[:16]}.zip"
    for stale in out.glob(f"{name}-*.zip"):
        stale.unlink()
    staging.replace(final)
    return Artifact(name, final, f"{KEY_PREFIX}/{final.name}", digest)


def build_all(root: Path, out: Path) -> list[Artifact]:
    """Build the dispatcher zip and the runner bundle from the tree at root into out."""
    dispatcher = collect(root, (), DISPATCHER_TREES)
    runner = runner_members(root)
    return [
        _build(root, out, "dispatcher", dispatcher, DISPATCHER_REQUIRED),
        _build(root, out, "runner", runner, RUNNER_REQUIRED),
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
    """Command-line entry: build both artifacts, print and record their keys."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--out", type=Path, default=None, help="default: ROOT/build/package")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    out = (args.out or root / "build" / "package").resolve()
    try:
        artifacts = build_all(root, out)
    except (PackageError, OSError) as exc:
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
