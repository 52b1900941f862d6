"""The scan build's time budget, phase by phase: both compute tiers and the old install path.

One ~250 MB image (a Debian base layer and incompressible random layers) in the real local
registry, moto server for AWS, the QScanner test double fetched from (moto) S3. Each build is a
full run of buildspecs/scan.yml through the local executor from a fresh copy of the bundle's
files, started as the dispatcher starts it. Three variants, `--runs` builds each:
- ec2, lambda: the buildspec as it ships (install from the bundle's wheelhouse, no index);
- old: the same buildspec with the install the project had before (a `pip install .` from the
  package index pip is configured with, setuptools build isolation and all): the peer.
Phases come from the build log's command times and, inside the one scan command, from what the
scan leaves behind (the pulled archive, the scanner's first call, the reports).

    .venv/bin/python benchmarks/build_bench.py [--size-mb 250] [--runs 3] [--variants V,...]

Goals: the install from the bundle <= 3 s and <= 0.5x the old install, measured in this run.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import re
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dispatcher.buildvars import BuildRequest
from dispatcher.imageref import ImageRef
from scanner_runner.devtools import imagebuild
from scanner_runner.devtools.demo.images import debian_image
from scanner_runner.devtools.demo.motoserver import MotoServer
from scanner_runner.devtools.demo.stack import StackNames, create_stack
from scanner_runner.devtools.localbuild.launcher import (
    LocalBuildLauncher,
    LocalProject,
    build_image_environment,
)
from scanner_runner.devtools.localbuild.model import BuildResult, EnvVar
from scanner_runner.devtools.localregistry import LocalRegistry

ROOT = Path(__file__).resolve().parent.parent
DOUBLE = ROOT / "tests" / "doubles" / "qscanner"
INSTALL_COMMAND = re.compile(r"^      - python3 buildspecs/install_runner\.py .*$", re.MULTILINE)
# What the project's buildspec ran before the bundle carried a wheelhouse, into the same venv.
OLD_INSTALL = (
    '      - python3 -m venv --without-pip "$DEPLOYSCAN_VENV" && python3 -m pip --python '
    '"$DEPLOYSCAN_VENV/bin/python" install --quiet --no-input --no-cache-dir .'
)
STAMP = re.compile(r"^\[Container\] (\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d+) (.*)$")
PHASES = ("install", "qscanner fetch", "pull", "scan", "publish", "whole build")
GOAL_SECONDS, GOAL_RATIO = 3.0, 0.5
TOKEN = "qualys-test-token"  # noqa: S105 - the double accepts any token


def command_times(log: str) -> dict[str, float]:
    """Seconds each buildspec command took, from the executor's time-stamped log lines."""
    stamped = []
    for line in log.splitlines():
        match = STAMP.match(line)
        if match:
            when = datetime.strptime(match.group(1), "%Y/%m/%d %H:%M:%S.%f").replace(tzinfo=UTC)
            stamped.append((when.timestamp(), match.group(2)))
    times: dict[str, float] = {}
    for (start, text), (end, _) in itertools.pairwise(stamped):
        if text.startswith("Running command "):
            times[text.removeprefix("Running command ").split("\n")[0]] = end - start
    return times


def starts_with(times: dict[str, float], prefix: str) -> float:
    """The time of the one command whose first line starts with prefix."""
    return next(seconds for command, seconds in times.items() if command.startswith(prefix))


class Watcher(threading.Thread):
    """Notes when the scan's pulled archive, the scanner's first call and report.json appear."""

    def __init__(self, builds: Path, record: Path) -> None:
        super().__init__(daemon=True)
        self.builds, self.record = builds, record
        self.seen: dict[str, float] = {}
        self.done = threading.Event()

    def run(self) -> None:
        checks: dict[str, Callable[[], bool]] = {
            "pulled": lambda: any(self.builds.glob("*/tmp/deployscan-*/image.tar")),
            "scanner": lambda: self.record.is_file() and self.record.stat().st_size > 0,
            "reports": lambda: any(self.builds.glob("*/src/deployscan-reports/report.json")),
        }
        while not self.done.is_set():
            for name, check in checks.items():
                if name not in self.seen and check():
                    self.seen[name] = time.time()
            time.sleep(0.01)


def phase_times(result: BuildResult, seen: dict[str, float]) -> dict[str, float]:
    """install, QScanner fetch, pull, scan, publish and the whole build, in seconds."""
    log = result.log_path.read_text(encoding="utf-8")
    times = command_times(log)
    fetch = starts_with(times, 'if [ "$SCANNER" = syft ]')
    phase = result.phase("INSTALL")
    # the whole INSTALL phase but the QScanner fetch: the same commands around either install
    install = (phase.duration_seconds if phase else 0.0) - fetch
    scan_start = next(
        STAMP.match(line).group(1)  # type: ignore[union-attr]
        for line in log.splitlines()
        if "Running command set -o pipefail" in line
    )
    start = datetime.strptime(scan_start, "%Y/%m/%d %H:%M:%S.%f").replace(tzinfo=UTC).timestamp()
    scan_total = starts_with(times, "set -o pipefail")
    pulled, scanner, reports = (seen[k] for k in ("pulled", "scanner", "reports"))
    return {
        "install": install,
        "qscanner fetch": fetch,
        "pull": scanner - start,  # download, then every blob checked against its digest
        "scan": reports - scanner,
        "publish": start + scan_total - reports,
        "whole build": result.ended_at - result.started_at,
    } | {"(archive on disk)": pulled - start}


def big_image(root: Path, size_mb: int) -> imagebuild.Image:
    """A Debian base (for the scanner to find packages) plus random layers up to size_mb."""
    base = debian_image({"srv/app/app.py": b"print('hi')\n"})
    layers = 4
    size = size_mb * 1024 * 1024 // layers
    randoms = [imagebuild.random_layer(root / f"l{n}.tar.gz", size, seed=n) for n in range(layers)]
    return imagebuild.image([*base.layers, *randoms])


class Bench:
    """The shared set-up: moto server, the registry holding the image, the old-path buildspec."""

    def __init__(self, work: Path, moto: MotoServer, registry: LocalRegistry, ref: str) -> None:
        self.work, self.moto, self.registry, self.ref = work, moto, registry, ref
        self.double = DOUBLE.read_bytes()
        self.old_spec = work / "scan-old.yml"
        spec = (ROOT / "buildspecs" / "scan.yml").read_text()
        self.old_spec.write_text(INSTALL_COMMAND.sub(OLD_INSTALL, spec, count=1))

    def build(self, variant: str, run: int) -> dict[str, float]:
        """One full build of the image; its phase times."""
        self.moto.reset()
        names, tier = StackNames(), "lambda" if variant == "lambda" else "ec2"
        record = self.work / f"record-{variant}-{run}.jsonl"
        stack = create_stack(
            self.moto.client, scanner="qscanner", qualys_pod="US1", qualys_token=TOKEN,
            insecure_registries=self.registry.host, extra_env=(
                EnvVar("QSCANNER_URL", f"s3://{names.artifacts_bucket}/qscanner"),
                EnvVar("QSCANNER_SHA256", hashlib.sha256(self.double).hexdigest()),
                EnvVar("QSCANNER_DOUBLE_SCENARIO", "clean"),
                EnvVar("QSCANNER_DOUBLE_RECORD", str(record)),
            ),
        )  # fmt: skip
        self.moto.client("s3").put_object(
            Bucket=names.artifacts_bucket, Key="qscanner", Body=self.double
        )
        project = LocalProject(
            name=stack.names.project,
            source_dir=ROOT,
            work_root=self.work / f"{variant}-{run}",
            environment=stack.environment,
            base_env=build_image_environment(self.moto.environment()),
            buildspec=str(self.old_spec) if variant == "old" else "buildspecs/scan.yml",
        )
        launcher = LocalBuildLauncher(project, secrets_client=self.moto.client("secretsmanager"))
        request = BuildRequest(stack.names.project, ImageRef.parse(self.ref), None, None,
                               "123456789012", "us-east-1", "manual", None,
                               compute_tier=tier)  # fmt: skip
        watcher = Watcher(project.work_root / "builds", record)
        watcher.start()
        try:
            result = launcher.run(request)
        finally:
            watcher.done.set()
            watcher.join()
        if not result.succeeded:
            print("\n".join(result.log_tail(30)), file=sys.stderr)
            raise SystemExit(f"{variant} build {run + 1} failed")
        return phase_times(result, watcher.seen)


def report(medians: dict[str, dict[str, float]], header: str) -> bool:
    """Print the phase table and the install goals; True when a goal is missed."""
    variants = list(medians)
    print(header)
    heads = {"ec2": "ec2 (bundle)", "lambda": "lambda (bundle)", "old": "ec2 (old: pip, index)"}
    print(f"{'phase':<20}" + "".join(f"{heads[v]:>24}" for v in variants))
    for phase in (*PHASES, "(archive on disk)"):
        print(f"{phase:<20}" + "".join(f"{medians[v][phase]:>24.2f}" for v in variants))
    ours = max(medians[v]["install"] for v in variants if v != "old")
    missed = ours > GOAL_SECONDS
    print(f"install from the bundle: {ours:.2f} s (goal <= {GOAL_SECONDS:.0f} s)")
    if "old" in medians:
        ratio = ours / medians["old"]["install"]
        missed = missed or ratio > GOAL_RATIO
        print(f"install from the bundle / old install: {ratio:.2f}x (goal <= {GOAL_RATIO}x)")
    return missed


def main() -> int:
    """Run the builds, print the phase table; exit 1 when an install goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=250)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--variants", default="ec2,lambda,old")
    args = parser.parse_args()
    medians: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="build-bench-") as scratch, MotoServer() as moto:
        work = Path(scratch)
        with LocalRegistry(work / "registry") as registry:
            image = big_image(work, args.size_mb)
            imagebuild.Pusher(registry.url).push_image("bench/big", image, "1")
            bench = Bench(work, moto, registry, f"{registry.host}/bench/big:1")
            for variant in args.variants.split(","):
                rows = [bench.build(variant, run) for run in range(args.runs)]
                medians[variant] = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    size = sum(layer.size for layer in image.layers) / 1e6
    header = (
        f"image {size:.0f} MB ({len(image.layers)} layers); QScanner test double "
        f"{len(bench.double) / 1e3:.0f} kB; medians of {args.runs} builds per column, seconds"
    )
    return 1 if report(medians, header) else 0


if __name__ == "__main__":
    sys.exit(main())
