"""ASFF for 20,000 findings: `render` (findings.asff.json) and `findings` (what the Security Hub
importer parses), with no workload and with as many in-use workloads as a finding can list.

Every finding carries the same Resources; the per-report part is encoded (and parsed) once, so
workloads add bytes to the file but little time. Goal: each figure <= 1 s on the project machine.
Run: .venv/bin/python benchmarks/asff_bench.py [--findings N] [--rounds R]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.report_bench import findings as sample
from benchmarks.report_bench import sample_report
from scanner_runner.policy import Policy, evaluate
from scanner_runner.report import ImageInfo, TriggerInfo
from scanner_runner.writers import asff

GOAL_SECONDS = 1.0
ACCOUNT, REGION = "123456789012", "eu-west-1"
WORKLOADS = tuple(f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/prod/api-{i:02d}" for i in range(40))


def main() -> None:
    """Time render and findings() with 0 and 40 workloads (31 listed) and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--findings", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3, help="best of N rounds is reported")
    args = parser.parse_args()
    marked, decision, status = evaluate(sample(args.findings), Policy(), today=date(2026, 1, 1))
    worst = 0.0
    print(f"findings: {args.findings}  (best of {args.rounds} rounds)")
    for count in (0, len(WORKLOADS)):
        report = sample_report(
            marked,
            decision,
            status,
            image=ImageInfo(
                ref=f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/app:1",
                registry=f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com",
                repository="team/app",
                digest="sha256:" + "ab" * 32,
            ),
            trigger=TriggerInfo(source="ecs:TaskStateChange", account=ACCOUNT, region=REGION),
            workloads=WORKLOADS[:count],
        )
        rendered, parsed, size = 1e9, 1e9, 0
        for _ in range(args.rounds):
            began = time.perf_counter()
            size = len(asff.render(report).encode())
            rendered = min(rendered, time.perf_counter() - began)
            began = time.perf_counter()
            asff.findings(report, ACCOUNT, REGION)
            parsed = min(parsed, time.perf_counter() - began)
        worst = max(worst, rendered, parsed)
        print(f"  workloads {count:>2}: render {rendered:.3f} s ({size / 1e6:.1f} MB), "
              f"findings() {parsed:.3f} s")  # fmt: skip
    verdict = "OK" if worst <= GOAL_SECONDS else "OVER GOAL"
    print(f"slowest {worst:.3f} s (goal <= {GOAL_SECONDS:.1f} s): {verdict}")


if __name__ == "__main__":
    main()
