"""`deployscan scan` failures at its edge: one line and the contract's exit code, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from scanner_runner.cli import main
from scanner_runner.report import load
from tests.runner.archives import Archive
from tests.runner.conftest import DoubleRun, cli_env


@pytest.fixture
def env(double: DoubleRun) -> dict[str, str | None]:
    return cli_env(double, "clean", POLICY_IGNORE="")


def scan(out: Path, env: dict[str, str | None], archive: Archive, *extra: str) -> Result:
    args = ["scan", "--archive", str(archive.path), "--output-dir", str(out), *extra]
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


def test_a_deeply_nested_ignore_list_is_one_line_and_exit_2(
    tmp_path: Path, env: dict[str, str | None], double: DoubleRun, oci_archive: Archive
) -> None:
    ignore = tmp_path / "ignore.json"
    ignore.write_text('{"ignore": ' + "[" * 100_000 + "]" * 100_000 + "}")
    result = scan(tmp_path / "out", env, oci_archive, "--ignore-list", str(ignore))
    assert result.exit_code == 2
    assert result.output.startswith("deployscan scan: error: ")
    assert "nests too deeply" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert double.calls() == []


def test_a_cache_table_without_a_region_is_a_publish_failure_not_a_traceback(
    tmp_path: Path, env: dict[str, str | None], oci_archive: Archive
) -> None:
    env |= {"SCAN_CACHE_TABLE": "scan-cache", "AWS_DEFAULT_REGION": None, "AWS_REGION": None}
    out = tmp_path / "out"
    result = scan(out, env, oci_archive)
    assert result.exit_code == 3
    assert "Traceback" not in result.output
    (first, _reports) = result.output.strip().splitlines()
    assert "publishing failed: cannot make the AWS clients: NoRegionError" in first
    exported = (out / "exported-variables.env").read_text()
    assert "SCAN_STATUS=error\n" in exported and "SCAN_REPORT_URI=''\n" in exported


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("s3://no-such-policy-bucket/ignore.json", "NoSuchBucket"),
        ("{tmp}/missing.json", "No such file or directory"),
    ],
)
def test_an_ignore_list_that_cannot_be_read_is_an_error_report_and_exit_3(
    tmp_path: Path,
    env: dict[str, str | None],
    double: DoubleRun,
    oci_archive: Archive,
    aws: None,
    *,
    source: str,
    reason: str,
) -> None:
    env["POLICY_IGNORE"] = source.format(tmp=tmp_path)
    out = tmp_path / "out"
    result = scan(out, env, oci_archive)
    assert result.exit_code == 3
    assert "Traceback" not in result.output
    report = load(out / "report.json")
    assert report.status == "error" and report.policy.decision == "error"
    assert report.error.startswith("cannot read ignore list ") and reason in report.error
    assert "SCAN_STATUS=error\n" in (out / "exported-variables.env").read_text()
    assert double.calls() == []  # nothing is scanned without the policy it must be judged by
