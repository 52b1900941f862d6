#!/usr/bin/env python3
"""The runner's wheelhouse: the locked wheels for each build platform, downloaded once, verified.

`requirements/runner.lock` (the runner's runtime dependencies), `requirements/syft.lock` (the
inventory scanner) and `requirements/uv.lock` (the installer a build uses) pin every
distribution with its sha256 hashes (`make lock`). A build platform
is a (CPU, CPython) pair: x86_64 and aarch64 (the EC2 and Lambda build images of both
architectures), CPython 3.11 (the EC2 images' default: the buildspec names no runtime version,
which Lambda compute does not take) and 3.12/3.13 (the Lambda images). `pip download` fetches
each platform's wheels with `--require-hashes` into a cache folder keyed by the locks' content;
`select_wheels` then re-checks every file against the locks before the packager ships it.
Stdlib only; `pip` is the one tool that talks to the package index.

Usage: wheelhouse.py [--root DIR] [--targets host|all|NAME,...] [--cache DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

LOCKS = ("requirements/runner.lock", "requirements/syft.lock", "requirements/uv.lock")
ARCHES = ("x86_64", "aarch64")
PYTHONS = ("3.11", "3.12", "3.13")
DONE = ".done"  # written last: a target folder without it is incomplete and not used
_REQUIREMENT_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
_HASH_RE = re.compile(r"--hash=sha256:([0-9a-f]{64})")


class WheelhouseError(Exception):
    """The wheelhouse cannot be made or is not complete and verified."""


@dataclass(frozen=True)
class Target:
    """One build platform: a CPU architecture and a CPython version."""

    arch: str
    python: str

    @property
    def name(self) -> str:
        """`linux-<arch>-cp<version>`, the cache folder's name."""
        return f"linux-{self.arch}-cp{self.python.replace('.', '')}"

    def pip_args(self) -> list[str]:
        """`pip download` options that select this platform's wheels (manylinux2014 and older)."""
        nodot = self.python.replace(".", "")
        return [
            "--only-binary=:all:",
            "--platform", f"manylinux2014_{self.arch}",
            "--platform", f"manylinux_2_17_{self.arch}",
            "--implementation", "cp",
            "--python-version", self.python,
            "--abi", f"cp{nodot}", "--abi", "abi3", "--abi", "none",
        ]  # fmt: skip


ALL_TARGETS = tuple(Target(arch, python) for arch in ARCHES for python in PYTHONS)


@dataclass(frozen=True)
class Pin:
    """One locked distribution: its normalized name, version and allowed sha256 hashes."""

    name: str
    version: str
    hashes: frozenset[str]


def normalize(name: str) -> str:
    """PEP 503 name normalization (`Jinja2` and `jinja2` are one project)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def host_target() -> Target:
    """The platform of the Python running this: what a local build on this machine installs."""
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower())
    arch = arch or platform.machine()
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    if sys.platform != "linux" or Target(arch, python) not in ALL_TARGETS:
        raise WheelhouseError(f"{sys.platform} {arch} Python {python} is no build platform")
    return Target(arch, python)


def parse_targets(spec: str) -> tuple[Target, ...]:
    """`host`, `all`, or comma-separated target names."""
    if spec == "all":
        return ALL_TARGETS
    if spec == "host":
        return (host_target(),)
    by_name = {t.name: t for t in ALL_TARGETS}
    unknown = [n for n in spec.split(",") if n not in by_name]
    if unknown:
        raise WheelhouseError(f"unknown targets {unknown}; known: {sorted(by_name)}")
    return tuple(by_name[n] for n in spec.split(","))


def read_lock(path: Path) -> list[Pin]:
    """The pins of one lock file (`name==version` followed by `--hash=sha256:` lines)."""
    pins: list[Pin] = []
    text = path.read_text(encoding="utf-8")
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = _REQUIREMENT_RE.match(block)
        if match is None:
            continue
        hashes = frozenset(_HASH_RE.findall(block))
        if not hashes:
            raise WheelhouseError(f"{path.name}: {match.group(1)} has no sha256 hash")
        pins.append(Pin(normalize(match.group(1)), match.group(2), hashes))
    return pins


def lock_files(root: Path) -> list[Path]:
    """The lock files present in the tree at root (none: the tree ships no wheelhouse)."""
    return [root / name for name in LOCKS if (root / name).is_file()]


def cache_root(env: Mapping[str, str] = os.environ) -> Path:
    """$DEPLOYSCAN_WHEELHOUSE, else the user's cache folder: it outlives clones and CI runs."""
    if env.get("DEPLOYSCAN_WHEELHOUSE"):
        return Path(env["DEPLOYSCAN_WHEELHOUSE"])
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "deployscan" / "wheelhouse"


def target_dir(root: Path, cache: Path, target: Target) -> Path:
    """Where one target's verified wheels are kept: keyed by the locks' content."""
    digest = hashlib.sha256()
    for lock in lock_files(root):
        digest.update(lock.name.encode() + b"\0" + lock.read_bytes() + b"\0")
    return cache / digest.hexdigest()[:16] / target.name


def download(root: Path, cache: Path, targets: Iterable[Target], *, log: bool = True) -> None:
    """Fetch each target's locked wheels (hash-checked by pip) unless the cache has them."""
    locks = lock_files(root)
    for target in targets:
        final = target_dir(root, cache, target)
        if not locks or (final / DONE).is_file():
            continue
        final.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{target.name}-"))
        try:
            for lock in locks:
                command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                           "--require-hashes", "--cache-dir", str(cache / "http"), "--dest",
                           str(work), *target.pip_args(), "-r", str(lock)]  # fmt: skip
                if log:
                    print(f"wheelhouse: {target.name}: {lock.name}", file=sys.stderr)
                done = subprocess.run(command, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    raise WheelhouseError(f"pip download for {target.name} failed: "
                                          f"{done.stderr.strip()[-800:]}")  # fmt: skip
            (work / DONE).write_text(target.name + "\n")
            shutil.rmtree(final, ignore_errors=True)
            work.rename(final)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def wheel_name_version(filename: str) -> tuple[str, str]:
    """(normalized name, version) from a wheel file name (PEP 427)."""
    parts = filename[: -len(".whl")].split("-")
    if not filename.endswith(".whl") or len(parts) not in (5, 6):
        raise WheelhouseError(f"not a wheel file name: {filename}")
    return normalize(parts[0]), parts[1]


def select_wheels(root: Path, cache: Path, targets: Iterable[Target]) -> dict[str, Path]:
    """{file name: path} of every target's wheels, each checked against the locks' hashes.

    Raises WheelhouseError when a target was not downloaded, a locked project has no wheel
    for a target, or a file is not one the locks allow.
    """
    pins = {(p.name, p.version): p for lock in lock_files(root) for p in read_lock(lock)}
    chosen: dict[str, Path] = {}
    for target in targets:
        folder = target_dir(root, cache, target)
        if not (folder / DONE).is_file():
            raise WheelhouseError(
                f"no wheelhouse for {target.name} in {folder.parent}: run `make wheelhouse` "
                "(this machine) or `make wheelhouse-all` (every build platform)"
            )
        found = set()
        for path in sorted(folder.glob("*.whl")):
            pin = pins.get(wheel_name_version(path.name))
            if pin is None or sha256_file(path) not in pin.hashes:
                raise WheelhouseError(f"{path}: not a file the locks allow (name, version, sha256)")
            found.add((pin.name, pin.version))
            chosen.setdefault(path.name, path)
        missing = sorted(f"{n}=={v}" for n, v in set(pins) - found)
        if missing:
            raise WheelhouseError(f"{target.name}: no wheel for {', '.join(missing)}")
    return chosen


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: download the named targets, print the cache folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--targets", default="host", help="host | all | NAME[,NAME...]")
    parser.add_argument("--cache", type=Path, default=None, help="default: $DEPLOYSCAN_WHEELHOUSE")
    args = parser.parse_args(argv)
    cache = (args.cache or cache_root()).resolve()
    try:
        targets = parse_targets(args.targets)
        download(args.root.resolve(), cache, targets)
        select_wheels(args.root.resolve(), cache, targets)
    except (WheelhouseError, OSError) as exc:
        print(f"wheelhouse: {exc}", file=sys.stderr)
        return 2
    print(target_dir(args.root.resolve(), cache, targets[0]).parent if targets else cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
