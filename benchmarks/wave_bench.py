"""Deploy waves against the scan project's concurrent-build limit: is every image scanned, once?

A wave of N distinct images (each in 1-3 ECS "task RUNNING" events, arriving within 2 minutes,
plus one unreadable message 5 s in) goes through an emulated SQS queue (visibility timeout,
receive counts, redrive to the DLQ, retention, partial batch responses; tests/dispatcher/sqssim.py)
into the real dispatcher on a simulated clock, 5 concurrent invocations of up to 10 messages. The
real CodeBuildLauncher calls a CodeBuild stand-in that refuses more than 10 builds at once
(AccountLimitExceededException) and runs builds of 3-10 minutes; finished builds record their
verdicts in the real scan-cache table (moto). "after" is this tree: dispatcher/ with the queue of
cfn/scanner.yaml. "before" is dispatcher/ and cfn/scanner.yaml of --before (default f186854, the
tree issue 10 was measured on), extracted with git archive and run in its own process.

    .venv/bin/python benchmarks/wave_bench.py [--seed S] [--jobs N] [--quick] [--before REF|'']

Goals (after): 0 images never scanned; 0 duplicate builds without injected faults; the poison
message in the DLQ within 30 minutes; nothing else dead-lettered (exit 1 otherwise). Reported
too: how close the last build start comes to the ideal, and builds started out of order.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import subprocess
import sys
import tarfile
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BEFORE_REF = "f186854"
FAULTS = {"throttle": 0.05, "lost_response": 0.01, "table": 0.02, "visibility": 0.02, "crash": 0.01}
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "eu-central-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


@dataclass(frozen=True)
class Scenario:
    """One wave (or several) to run."""

    name: str
    images: int
    waves: int = 1
    gap_minutes: float = 0.0
    faults: dict[str, float] = field(default_factory=dict)
    before: bool = False


def work(scenario: Scenario, code: Path, seed: int) -> dict[str, Any]:
    """Run one scenario against the dispatcher in `code` (a fresh moto); the report as a dict."""
    sys.path[:0] = [str(code), str(ROOT)]  # `dispatcher` from `code`, the harness from here
    import logging

    import boto3
    from cfnlint.decode import decode
    from moto import mock_aws

    from dispatcher.settings import Settings
    from tests.dispatcher.conftest import create_table
    from tests.dispatcher.sqssim import DLQ_URL, REGION, QueueConfig
    from tests.dispatcher.wavesim import TABLE, Faults, Simulation

    logging.disable(logging.WARNING)  # a simulated fault's warning is not news
    template, _ = decode(str(code / "cfn" / "scanner.yaml"))
    queue = QueueConfig.from_template(json.loads(json.dumps(template)))
    options: dict[str, Any] = {"project_name": "deployscan-scan", "cache_table": TABLE}
    if not scenario.before:
        options["dead_letter_queue_url"] = DLQ_URL
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_table(dynamodb, TABLE)
        sim = Simulation(
            dynamodb, Settings(**options), queue, legacy=scenario.before,
            faults=Faults(**scenario.faults), seed=seed,
        )  # fmt: skip
        rng, image = random.Random(seed), 0
        for wave in range(scenario.waves):
            for _ in range(scenario.images):
                image += 1
                for _ in range(rng.randint(1, 3)):  # one event per task of the service
                    sim.deploy(wave * scenario.gap_minutes * 60 + rng.uniform(0, 120), image)
        sim.poison(5.0)
        return asdict(sim.run())


def _run(scenario: Scenario, code: Path, seed: int) -> dict[str, Any]:
    """`work` in a child process (each scenario imports its own dispatcher)."""
    command = [sys.executable, __file__, "--worker", json.dumps(asdict(scenario))]
    command += ["--code", str(code), "--seed", str(seed)]
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, env={**os.environ, **FAKE_AWS}
    )
    if done.returncode != 0:
        raise RuntimeError(f"{scenario.name} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.splitlines()[-1]))


def _extract(ref: str, into: Path) -> Path:
    """dispatcher/ and cfn/ of a commit, as a directory."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "dispatcher", "cfn"], capture_output=True,
        check=True,
    ).stdout  # fmt: skip
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def _time(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    return f"{seconds:.0f} s" if seconds < 60 else f"{seconds / 60:.1f} min"


def _missed(scenario: Scenario, r: dict[str, Any]) -> bool:
    late_poison = r["poison_to_dlq"] is None or r["poison_to_dlq"] > 30 * 60
    duplicates = r["duplicate_builds"] > 0 and not scenario.faults
    return bool(r["never_scanned"] or r["dead_lettered"] or late_poison or duplicates)


def main() -> int:
    """Run the scenarios, print one markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--quick", action="store_true", help="only the waves of 30 and 100")
    parser.add_argument("--before", default=BEFORE_REF, help="commit to compare with ('': none)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--code", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(work(Scenario(**json.loads(args.worker)), args.code, args.seed)))
        return 0
    versions = (False, True) if args.before else (False,)
    sizes = (30, 100) if args.quick else (30, 100, 500)
    scenarios = [Scenario(f"wave of {n}", n, before=b) for n in sizes for b in versions]
    if not args.quick:
        several = "5 waves of 100, 20 min apart"
        scenarios += [Scenario(several, 100, 5, 20.0, before=b) for b in versions]
        scenarios.append(Scenario("wave of 500, injected faults", 500, faults=FAULTS))
    with tempfile.TemporaryDirectory() as tmp:
        old = _extract(args.before, Path(tmp)) if args.before else ROOT
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            reports = list(
                pool.map(lambda s: _run(s, old if s.before else ROOT, args.seed), scenarios)
            )
    print(
        "| scenario | code | images | never scanned | duplicate builds "
        "| last image's build starts (ideal) | poison in DLQ | out of order "
        "| StartBuild calls (refused) | max receives |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    results = list(zip(scenarios, reports, strict=True))
    for s, r in results:
        print(
            f"| {s.name} | {'before' if s.before else 'after'} | {r['images']} "
            f"| {r['never_scanned']} | {r['duplicate_builds']} | {_time(r['last_start'])} "
            f"({_time(r['ideal_last_start'])}) "
            f"| {_time(r['poison_to_dlq'])} | {r['out_of_order']:.0%} "
            f"| {r['start_calls']} ({r['refused']}) | {r['max_receives']} |"
        )
    print(f"\ncapacity 10, builds 3-10 min, seed {args.seed}; before = {args.before or 'not run'}")
    failed = [s.name for s, r in results if not s.before and _missed(s, r)]
    if failed:
        print(f"goals missed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
