"""The scan build's EMF lines: scans and duration by verdict, findings by severity."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from scanner_runner.cli import main
from scanner_runner.scanmetrics import scan_lines
from tests.emf import emf_problems
from tests.runner.archives import Archive
from tests.runner.conftest import DoubleRun, cli_env, error_policy, fixed_report


def docs(lines: list[str]) -> list[dict[str, Any]]:
    for line in lines:
        assert emf_problems(line) == [], line
    return [json.loads(line) for line in lines]


def test_a_failed_scan_counts_verdict_duration_and_findings_by_severity() -> None:
    report = fixed_report()
    got = docs(scan_lines(report))
    (scan, *findings) = got
    assert scan["Verdict"] == "failed" and scan["Scans"] == 1 and scan["ScanDuration"] == 42.0
    assert scan["_aws"]["Timestamp"] == 1772359242000  # 2026-03-01T10:00:42Z
    assert {f["Severity"]: f["Findings"] for f in findings} == report.summary


def test_inventory_only_and_error_scans_add_no_finding_counts() -> None:
    inventory = docs(
        scan_lines(fixed_report(status="passed", findings=(), vulnerability_data=False))
    )
    error = docs(scan_lines(fixed_report(status="error", findings=(), policy=error_policy())))
    assert [d.get("Verdict") for d in inventory] == ["passed"]
    assert [d.get("Verdict") for d in error] == ["error"]
    assert docs(scan_lines(fixed_report(started_at="?")))[0].get("ScanDuration") is None


def test_the_scan_command_prints_the_lines_when_metrics_are_on(
    tmp_path: Path, double: DoubleRun, oci_archive: Archive
) -> None:
    args = ["scan", "--archive", str(oci_archive.path)]
    on = cli_env(double, "findings", DEPLOYSCAN_METRICS="on")
    result = CliRunner().invoke(main, [*args, "--output-dir", str(tmp_path / "a")], env=on)
    emitted = [line for line in result.stdout.splitlines() if line.startswith('{"_aws"')]
    assert [d["Verdict"] for d in docs(emitted) if "Verdict" in d] == ["failed"]
    off = cli_env(double, "findings")
    result = CliRunner().invoke(main, [*args, "--output-dir", str(tmp_path / "b")], env=off)
    assert '"_aws"' not in result.stdout
