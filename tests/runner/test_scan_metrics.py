"""The scan build's EMF lines: scans and duration by verdict, findings by severity."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from scanner_runner.cli import main
from scanner_runner.report import ScanReport
from scanner_runner.scanmetrics import scan_lines
from tests.emf import emf_problems
from tests.runner.archives import Archive
from tests.runner.conftest import DoubleRun, cli_env, error_policy, fixed_report

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def docs(lines: list[str]) -> list[dict[str, Any]]:
    for line in lines:
        assert emf_problems(line) == [], line
    return [json.loads(line) for line in lines]


def lines_of(report: ScanReport, verdict: str | None = None) -> list[dict[str, Any]]:
    """The documents of one scan whose build ends with `verdict` (the report's by default)."""
    return docs(scan_lines(report, verdict=verdict or report.status, clock=lambda: NOW))


def test_a_failed_scan_counts_verdict_duration_and_findings_by_severity() -> None:
    report = fixed_report()
    (scan, *findings) = lines_of(report)
    assert scan["Verdict"] == "failed" and scan["Scans"] == 1 and scan["ScanDuration"] == 42.0
    assert scan["_aws"]["Timestamp"] == 1772359242000  # 2026-03-01T10:00:42Z
    assert {f["Severity"]: f["Findings"] for f in findings} == report.summary


def test_inventory_only_and_error_scans_add_no_finding_counts() -> None:
    inventory = lines_of(fixed_report(status="passed", findings=(), vulnerability_data=False))
    error = lines_of(fixed_report(status="error", findings=(), policy=error_policy()))
    assert [d.get("Verdict") for d in inventory] == ["passed"]
    assert [d.get("Verdict") for d in error] == ["error"]
    assert lines_of(fixed_report(started_at="?"))[0].get("ScanDuration") is None


def test_a_finish_time_that_does_not_parse_is_stamped_with_the_clock() -> None:
    # 0 (1970) would be dropped by CloudWatch as too old: the metric would be lost
    (scan, *findings) = lines_of(fixed_report(finished_at="not a time"))
    assert {d["_aws"]["Timestamp"] for d in (scan, *findings)} == {int(NOW.timestamp() * 1000)}
    assert "ScanDuration" not in scan and scan["Scans"] == 1


def test_the_build_verdict_is_the_one_counted() -> None:
    # publishing failed after a failed scan: the build ends in error, and so does its count
    (scan, *findings) = lines_of(fixed_report(), verdict="error")
    assert (scan["Verdict"], scan["Scans"]) == ("error", 1)
    assert sum(f["Findings"] for f in findings) > 0  # the scan's findings are still its own


def emitted(output: str) -> list[dict[str, Any]]:
    return docs([line for line in output.splitlines() if line.startswith('{"_aws"')])


def test_the_scan_command_prints_the_lines_when_metrics_are_on(
    tmp_path: Path, double: DoubleRun, oci_archive: Archive
) -> None:
    args = ["scan", "--archive", str(oci_archive.path)]
    on = cli_env(double, "findings", DEPLOYSCAN_METRICS="on")
    result = CliRunner().invoke(main, [*args, "--output-dir", str(tmp_path / "a")], env=on)
    assert [d["Verdict"] for d in emitted(result.stdout) if "Verdict" in d] == ["failed"]
    off = cli_env(double, "findings")
    result = CliRunner().invoke(main, [*args, "--output-dir", str(tmp_path / "b")], env=off)
    assert '"_aws"' not in result.stdout


def test_the_verdict_message_ends_the_output_after_the_metric_lines(
    tmp_path: Path, double: DoubleRun, oci_archive: Archive
) -> None:
    # The buildspec's failure reason is `tail -n 5` of this output (stdout and stderr, in order).
    env = cli_env(double, "findings", DEPLOYSCAN_METRICS="on")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["scan", "--archive", str(oci_archive.path),
                                       "--output-dir", str(out)], env=env)  # fmt: skip
    assert result.exit_code == 1
    assert len(emitted(result.output)) >= 3
    tail = result.output.splitlines()[-5:]
    assert not any(line.startswith('{"_aws"') for line in tail[-2:]), tail
    assert tail[-2].startswith("failed: ") and "critical" in tail[-2]
    assert tail[-1] == f"reports: {out}"


def test_a_publish_failure_is_counted_as_an_error_scan(
    tmp_path: Path, double: DoubleRun, oci_archive: Archive
) -> None:
    env = cli_env(double, "clean", DEPLOYSCAN_METRICS="on", SCAN_CACHE_TABLE="scan-cache")
    env |= {"AWS_DEFAULT_REGION": None, "AWS_REGION": None}  # no clients: publishing fails
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["scan", "--archive", str(oci_archive.path),
                                       "--output-dir", str(out)], env=env)  # fmt: skip
    assert result.exit_code == 3 and "publishing failed" in result.output
    assert json.loads((out / "report.json").read_text())["status"] == "passed"
    assert [d["Verdict"] for d in emitted(result.output) if "Verdict" in d] == ["error"]
