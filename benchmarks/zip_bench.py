"""Zip Lambda benchmark: verify + unpack + inventory of a function at Lambda's unzipped limit.

Builds a zip of `--files` files (default 20,000) adding up to `--size-mb` (default 250 MB, just
under Lambda's 262,144,000-byte limit) of text-like content laid out as Python packages, then
times the runner's own steps in a child process each: the CodeSha256 check (streamed sha256), the
safe unpack (scanner_runner.lambdazip.unpack, every check on) and syft's `dir:` inventory of the
unpacked tree. Prints wall time and peak RSS per step (goal: unpack <= 5 s on 2 cores).

    .venv/bin/python benchmarks/zip_bench.py [--files 20000] [--size-mb 250] [--no-syft]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import random
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

GOAL_UNPACK_SECONDS = 5.0
LIMIT = 262_144_000
WORDS = [f"{w}_{n}" for n in range(64) for w in ("import", "def", "return", "value", "self")]


def build_zip(path: Path, files: int, total: int) -> None:
    """Python-package-like files of pseudo-random words (compresses about 4:1, like code)."""
    rng = random.Random(14)
    size = total // files
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for index in range(files):
            package = f"pkg{index // 200:03d}"
            if index % 200 == 0:
                meta = f"Metadata-Version: 2.1\nName: {package}\nVersion: 1.{index}\n"
                zf.writestr(f"{package}-1.{index}.dist-info/METADATA", meta)
            text = " ".join(rng.choices(WORDS, k=size // 6))
            zf.writestr(f"{package}/mod{index:05d}.py", text.encode()[:size].ljust(size, b"#"))


def child(step: str, archive: Path, tree: Path) -> None:
    """One measured step, run in this (child) process."""
    if step == "verify":
        digest = hashlib.sha256()
        with archive.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        base64.b64encode(digest.digest())
    elif step == "unpack":
        from scanner_runner.lambdazip.unpack import Budget, unpack

        count = unpack(archive, tree, Budget(), "bench")
        print(f"files={count}", file=sys.stderr)
    elif step == "syft":
        syft = Path(sys.executable).parent / "syft"
        env = dict(os.environ, SYFT_CHECK_FOR_APP_UPDATE="false")
        out = tree.parent / "sbom.json"
        subprocess.run(
            [str(syft), "scan", f"dir:{tree}", "-o", f"cyclonedx-json={out}"],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )


def measure(step: str, archive: Path, tree: Path) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS MB) of one step in a fresh child; CPU time reads
    the same on a busy machine, wall time does not."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, __file__, "--child", step, str(archive), str(tree)])
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"step {step} failed")
    # wait4's usage covers the child and the children it waited for (syft): the larger peak.
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    """Build the package, then time each step."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--size-mb", type=float, default=250.0)
    parser.add_argument("--no-syft", action="store_true")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        step, archive, tree = args.child
        child(step, Path(archive), Path(tree))
        return
    total = min(int(args.size_mb * 1_000_000), LIMIT - 4096 * args.files // 200)
    with tempfile.TemporaryDirectory(prefix="zip-bench-") as tmp:
        archive, tree = Path(tmp) / "function.zip", Path(tmp) / "var" / "task"
        start = time.perf_counter()
        build_zip(archive, args.files, total)
        print(
            f"built {archive.stat().st_size / 1e6:.1f} MB zip, {args.files} files, "
            f"{total / 1e6:.1f} MB unzipped in {time.perf_counter() - start:.1f} s"
        )
        steps = ["verify", "unpack"] + ([] if args.no_syft else ["syft"])
        results = {step: measure(step, archive, tree) for step in steps}
        for step, (wall, cpu, rss) in results.items():
            print(f"{step:7s} {wall:6.2f} s wall  {cpu:6.2f} s CPU   peak RSS {rss:7.1f} MB")
        unpack = results["unpack"][0]
        verdict = "met" if unpack <= GOAL_UNPACK_SECONDS else "NOT met"
        load = os.getloadavg()[0]
        print(
            f"goal unpack <= {GOAL_UNPACK_SECONDS:.0f} s: {verdict} "
            f"({os.cpu_count()} CPUs, load average {load:.1f})"
        )


if __name__ == "__main__":
    main()
