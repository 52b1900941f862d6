#!/usr/bin/env python3
"""Install the runner from the bundle's wheelhouse into a new venv: no package index, every file
pinned by sha256, the same code on every build of one bundle.

uv (pinned in wheelhouse/uv.txt) installs the wheels in parallel, which is what makes the install
fast; its own wheel is checked against the pinned hashes here, then only its binary is unpacked.
Then `uv pip install --offline --no-index --require-hashes --no-deps` installs
wheelhouse/requirements.txt (the runner and its locked dependencies) and, with --syft,
wheelhouse/syft.txt. Stdlib only: it runs on the build image's python3 before anything else.

Usage: install_runner.py VENV [--syft]    (run from the bundle's root; exit 1 on any refusal)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import venv
import zipfile
from pathlib import Path

WHEELHOUSE = Path("wheelhouse")
_HASH_RE = re.compile(r"--hash=sha256:([0-9a-f]{64})")
_PIN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*==", re.MULTILINE)
_ARCH = {"amd64": "x86_64", "arm64": "aarch64"}


class InstallError(Exception):
    """The bundle cannot be installed as pinned."""


def pinned_hashes(requirements: Path) -> set[str]:
    """Every sha256 a requirements file allows."""
    if not requirements.is_file():
        raise InstallError(f"{requirements} is missing: this bundle has no wheelhouse")
    return set(_HASH_RE.findall(requirements.read_text(encoding="utf-8")))


def unpack_uv(wheelhouse: Path, bin_dir: Path) -> Path:
    """Check this machine's uv wheel against wheelhouse/uv.txt, then unpack its binary."""
    arch = _ARCH.get(platform.machine().lower(), platform.machine())
    allowed = pinned_hashes(wheelhouse / "uv.txt")
    wheels = sorted(wheelhouse.glob(f"uv-*-py3-none-*{arch}*.whl"))
    if not wheels:
        raise InstallError(f"no uv wheel for {arch} in {wheelhouse}")
    data = wheels[0].read_bytes()
    if hashlib.sha256(data).hexdigest() not in allowed:
        raise InstallError(f"{wheels[0].name}: sha256 is not one wheelhouse/uv.txt pins")
    with zipfile.ZipFile(wheels[0]) as archive:
        member = next((n for n in archive.namelist() if n.endswith(".data/scripts/uv")), None)
        if member is None:
            raise InstallError(f"{wheels[0].name} holds no uv binary")
        target = bin_dir / "uv"
        tmp = bin_dir / ".uv.tmp"
        tmp.write_bytes(archive.read(member))
        tmp.chmod(0o755)
        tmp.replace(target)
    return target


def install(venv_dir: Path, *, syft: bool) -> str:
    """Create the venv and install the pinned wheels into it; return a one-line summary."""
    started = time.monotonic()
    requirements = [WHEELHOUSE / "requirements.txt", *([WHEELHOUSE / "syft.txt"] if syft else [])]
    for file in requirements:
        pinned_hashes(file)
    venv.EnvBuilder(with_pip=False, clear=True, symlinks=True).create(venv_dir)
    uv = unpack_uv(WHEELHOUSE, venv_dir / "bin")
    cache = tempfile.mkdtemp(prefix="deployscan-uv-")  # under TMPDIR: /tmp on Lambda compute
    command = [str(uv), "pip", "install", "--python", str(venv_dir / "bin" / "python"),
               "--offline", "--no-index", "--no-config", "--find-links", str(WHEELHOUSE),
               "--require-hashes", "--no-deps", "--quiet", "--cache-dir", cache]  # fmt: skip
    for file in requirements:
        command += ["-r", str(file)]
    # Nothing from the caller's environment may point uv at an index or another config.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_"))}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise InstallError(f"uv pip install failed: {done.stderr.strip()[-1500:]}")
    pins = sum(len(_PIN_RE.findall(file.read_text(encoding="utf-8"))) for file in requirements)
    seconds = time.monotonic() - started
    return f"installed {pins} pinned distributions from the bundle (no index) in {seconds:.1f} s"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: install, print one line, exit 0; or print why not, exit 1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("venv", type=Path)
    parser.add_argument("--syft", action="store_true", help="also install syft (SCANNER=syft)")
    args = parser.parse_args(argv)
    try:
        print(f"install: {install(args.venv.absolute(), syft=args.syft)}")
    except (InstallError, OSError) as exc:
        print(f"install: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
