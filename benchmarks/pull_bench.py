"""Pull benchmark: `deployscan pull` vs `skopeo copy` on the same local registry, same run.

Builds one image of incompressible random layers (default ~250 MB in 5 layers), pushes it to a
LocalRegistry, then pulls it alternately with both tools for several rounds. Prints each run,
the median wall-time ratio (ours / skopeo; goal <= 0.8) and our peak RSS (goal <= 100 MB).

    .venv/bin/python benchmarks/pull_bench.py [--size-mb 250] [--layers 5] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scanner_runner.devtools import imagebuild
from scanner_runner.devtools.localregistry import LocalRegistry

GOAL_RATIO = 0.8
GOAL_RSS_MB = 100.0


def timed(command: list[str]) -> tuple[float, float]:
    """Run `command`; return (wall seconds, the child's own peak RSS in MB)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        error = process.stderr.read().decode() if process.stderr else ""
        raise SystemExit(f"{command[0]} failed: {error.strip()}")
    if process.stderr:
        process.stderr.close()
    return wall, usage.ru_maxrss / 1024  # Linux reports KiB


def main() -> int:
    """Build, push, pull alternately, print figures; exit 1 when a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=250)
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    deployscan = shutil.which("deployscan", path=str(Path(sys.executable).parent))
    if deployscan is None or shutil.which("skopeo") is None:
        raise SystemExit("needs .venv/bin/deployscan and skopeo (make venv sysdeps)")

    with tempfile.TemporaryDirectory(prefix="pull-bench-") as scratch:
        root = Path(scratch)
        layer_size = args.size_mb * 1024 * 1024 // args.layers
        started = time.perf_counter()
        layers = [
            imagebuild.random_layer(root / f"layer{n}.tar.gz", layer_size, seed=n)
            for n in range(args.layers)
        ]
        image = imagebuild.image(layers)
        total = sum(layer.size for layer in layers)
        with LocalRegistry(root / "registry") as registry:
            imagebuild.Pusher(registry.url).push_image("bench/big", image, "1")
            for layer in layers:
                assert layer.path is not None
                layer.path.unlink()
            print(
                f"image: {total / 1e6:.1f} MB in {args.layers} layers, built and pushed in "
                f"{time.perf_counter() - started:.1f} s"
            )
            ref = f"{registry.host}/bench/big:1"
            ours_cmd = [deployscan, "pull", ref, "-o", str(root / "ours.tar")]
            ours_cmd += ["--insecure-registry", registry.host]
            skopeo_cmd = ["skopeo", "copy", "--quiet", "--src-tls-verify=false"]
            skopeo_cmd += [f"docker://{ref}", f"oci-archive:{root / 'skopeo.tar'}"]
            ratios, our_rss, their_rss = [], [], []
            for round_number in range(1, args.rounds + 1):
                ours, ours_mb = timed(ours_cmd)
                theirs, theirs_mb = timed(skopeo_cmd)
                (root / "ours.tar").unlink()
                (root / "skopeo.tar").unlink()
                ratios.append(ours / theirs)
                our_rss.append(ours_mb)
                their_rss.append(theirs_mb)
                print(
                    f"round {round_number}: deployscan {ours:.2f} s ({ours_mb:.0f} MB RSS), "
                    f"skopeo {theirs:.2f} s ({theirs_mb:.0f} MB RSS), ratio {ours / theirs:.2f}"
                )
    ratio = statistics.median(ratios)
    peak = max(our_rss)
    print(f"median wall-time ratio deployscan/skopeo: {ratio:.2f} (goal <= {GOAL_RATIO})")
    print(f"deployscan peak RSS: {peak:.1f} MB (goal <= {GOAL_RSS_MB:.0f})", end="; ")
    print(f"skopeo peak RSS: {max(their_rss):.1f} MB")
    return 0 if ratio <= GOAL_RATIO and peak <= GOAL_RSS_MB else 1


if __name__ == "__main__":
    sys.exit(main())
