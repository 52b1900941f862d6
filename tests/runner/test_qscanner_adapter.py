"""The QScanner adapter against the double: argv, env, exit codes, parsing, fail-closed cases."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scanner_runner.errors import ScannerError
from scanner_runner.report import Finding
from scanner_runner.scanners.interface import (
    QualysCredentials,
    ScannerOptions,
    ScanRequest,
    ScanResult,
)
from scanner_runner.scanners.qscanner import QScanner
from tests.runner.archives import Archive
from tests.runner.conftest import DOUBLE, SENTINEL_SECRET, SENTINEL_TOKEN, DoubleRun

Options = Callable[..., ScannerOptions]
Request = Callable[..., ScanRequest]


def scan(
    double: DoubleRun, make_options: Options, make_request: Request, scenario: str, **req: Any
) -> ScanResult:
    double.scenario = scenario
    return QScanner(make_options()).scan(make_request(**req))


def test_findings_follow_the_severity_fallback_chain(
    double: DoubleRun, make_options: Options, make_request: Request, oci_archive: Archive
) -> None:
    result = scan(double, make_options, make_request, "findings")
    by_id: dict[str, list[Finding]] = {}
    for finding in result.findings:
        by_id.setdefault(finding.id, []).append(finding)
    assert by_id["38001"][0].severity == "critical"  # result.properties.severity
    assert {f.severity for f in by_id["38002"]} == {"high"}  # rule.properties.severity
    assert by_id["38004"][0].severity == "low"  # only the level ("note" -> 2)
    assert len(by_id["38002"]) == 2  # one finding per vulnerable package
    assert by_id["38001"][0].cves == ("CVE-2024-0001", "CVE-2024-0002")
    assert by_id["38001"][0].package == "base-files"
    assert by_id["38001"][0].fixed_version == "12.4+deb12u5+deb12u9"
    assert result.version == "4.8.0-2-double"
    assert result.os == "Debian GNU/Linux 12 (bookworm)"
    assert result.image_id == oci_archive.image_id
    assert result.mode == "get-report" and result.verdict == ""
    assert result.vulnerability_data


def test_argv_and_environment_are_exactly_the_contract(
    double: DoubleRun, make_options: Options, make_request: Request, tmp_path: Path
) -> None:
    request = make_request(policy_tags=("prod", "pci"))
    double.scenario = "findings"
    QScanner(make_options(scan_types=("pkg", "secret"), sbom=True)).scan(request)
    (call,) = double.calls()
    argv = call["argv"]
    cache = tmp_path / "work" / "qscanner-cache"
    assert argv[0] == str(DOUBLE)
    assert argv[1:] == [
        "--pod",
        "US1",
        "--mode",
        "evaluate-policy",
        "--scan-types",
        "pkg,secret",
        "--format",
        "json,cyclonedx",
        "--report-format",
        "sarif,json",
        "--output-dir",
        str(request.output_dir),
        "--cache-dir",
        str(cache),
        "--scan-timeout",
        argv[argv.index("--scan-timeout") + 1],
        "--log-level",
        "info",
        "--policy-tags",
        "prod,pci",
        "tar",
        str(request.archive),
    ]
    assert argv[argv.index("--scan-timeout") + 1] in ("29s", "30s")
    assert "QUALYS_ACCESS_TOKEN" in call["env"]
    assert {"HOME", "TMPDIR", "PATH", "DISABLE_QSCANNER_BANNER"} <= set(call["env"])
    assert "AWS_SECRET_ACCESS_KEY" not in call["env"]  # only what QScanner needs is passed on


def test_oauth_client_credentials_go_through_env(
    double: DoubleRun, make_options: Options, make_request: Request
) -> None:
    creds = QualysCredentials(client_id="client-1", client_secret=SENTINEL_SECRET)
    QScanner(make_options(credentials=creds)).scan(make_request())
    (call,) = double.calls()
    assert {"QUALYS_CLIENT_ID", "QUALYS_CLIENT_SECRET"} <= set(call["env"])
    assert not any(SENTINEL_SECRET in a for a in call["argv"])


@pytest.mark.parametrize(
    ("scenario", "verdict"), [("deny", "DENY"), ("audit", "AUDIT"), ("findings", "ALLOW")]
)
def test_policy_exit_codes_become_verdicts(
    double: DoubleRun, make_options: Options, make_request: Request, scenario: str, verdict: str
) -> None:
    result = scan(double, make_options, make_request, scenario, policy_tags=("prod",))
    assert result.verdict == verdict
    assert result.mode == "evaluate-policy"
    assert result.findings


def test_report_not_ready_is_retried_within_the_budget(
    double: DoubleRun, make_options: Options, make_request: Request
) -> None:
    result = scan(double, make_options, make_request, "not-ready-then-ready")
    assert len(double.calls()) == 2
    assert double.sleeps == [0.01]
    assert result.findings


def test_report_never_ready_fails_closed(
    double: DoubleRun, make_options: Options, make_request: Request
) -> None:
    double.scenario = "not-ready"
    options = make_options(retry_delay=0.2)
    clock = iter([0.0, 0.0, 0.5, 0.5, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0])
    options = ScannerOptions(**{**options.__dict__, "monotonic": lambda: next(clock)})
    with pytest.raises(ScannerError, match="not ready within 2 s") as caught:
        QScanner(options).scan(make_request(timeout=2.0))
    assert caught.value.exit_code == 40
    assert len(double.calls()) >= 2


@pytest.mark.parametrize(
    ("scenario", "message", "code"),
    [
        ("os-unsupported", "exit code 17 (OS not supported)", 17),
        ("crash", "exit code 2", 2),
        ("silent-exit-0", "wrote no", None),
        ("garbage", "cannot parse QScanner file", None),
        ("mismatch", "not the scanned archive's", None),
    ],
)
def test_untrustworthy_outcomes_are_errors(
    double: DoubleRun,
    make_options: Options,
    make_request: Request,
    *,
    scenario: str,
    message: str,
    code: int | None,
) -> None:
    with pytest.raises(ScannerError, match=re.escape(message)) as caught:
        scan(double, make_options, make_request, scenario)
    assert caught.value.exit_code == code


def test_a_hanging_scanner_is_killed_at_the_timeout(
    double: DoubleRun, make_options: Options, make_request: Request
) -> None:
    double.scenario = "hang"
    with pytest.raises(ScannerError, match="did not finish"):
        QScanner(make_options(kill_grace=0.2)).scan(make_request(timeout=1.0))


def test_underscore_separator_and_docker_archive(
    double: DoubleRun, make_options: Options, make_request: Request, docker_archive: Archive
) -> None:
    result = scan(double, make_options, make_request, "underscore", archive=docker_archive)
    assert result.image_id == docker_archive.image_id
    assert result.findings


def test_secrets_are_reported_without_the_matched_value(
    double: DoubleRun, make_options: Options, make_request: Request
) -> None:
    result = scan(double, make_options, make_request, "secrets")
    (secret,) = [f for f in result.findings if f.kind == "secret"]
    assert secret.severity == "critical"
    assert secret.package == "/app/config.env:3"
    assert "DOUBLESECRETVALUE" not in repr(result.findings)


SECRET_VALUE = "AKIA" + "DOUBLESECRETVALUE"  # what the double's secret scan matches


def raw_texts(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text(errors="replace") for p in directory.rglob("*") if p.is_file()}


def test_matched_secret_values_never_stay_in_the_raw_files(
    double: DoubleRun, make_options: Options, make_request: Request
) -> None:
    request = make_request()
    result = scan(double, make_options, make_request, "secrets")
    (secret,) = [f for f in result.findings if f.kind == "secret"]
    assert secret.id == "aws-access-key-id"
    kept = raw_texts(request.output_dir)
    assert any(name.endswith("-ScanResult.json") for name in kept)
    assert [name for name, text in kept.items() if SECRET_VALUE in text] == []
    scan_result = next(t for n, t in kept.items() if n.endswith("-ScanResult.json"))
    assert '"Match": "[redacted]"' in scan_result  # still the same document, value replaced
    assert not list(request.output_dir.glob(".*"))  # rewritten through a temp file, none left


def test_secret_values_are_redacted_when_the_scan_is_refused_too(
    double: DoubleRun, make_options: Options, make_request: Request
) -> None:
    request = make_request(image_id="sha256:" + "9" * 64)  # the report names another image
    with pytest.raises(ScannerError, match="not the scanned archive's"):
        scan(double, make_options, make_request, "secrets", image_id="sha256:" + "9" * 64)
    kept = raw_texts(request.output_dir)
    assert kept and [name for name, text in kept.items() if SECRET_VALUE in text] == []


def test_a_scan_result_that_cannot_be_checked_for_secrets_is_removed_and_an_error(
    double: DoubleRun, make_options: Options, make_request: Request, tmp_path: Path
) -> None:
    wrapper = tmp_path / "qscanner-cut-short"  # the double, then its ScanResult.json cut in half
    wrapper.write_text(
        f'#!/bin/sh\n"{DOUBLE}" "$@" || exit $?\n'
        'for f in "$QSCANNER_OUT"/*-ScanResult.json; do head -c 200 "$f" > "$f.x"; '
        'mv "$f.x" "$f"; done\n'
    )
    wrapper.chmod(0o755)
    double.scenario = "secrets"
    request = make_request()
    options = make_options(qscanner_path=str(wrapper))
    env = {**options.base_env, "QSCANNER_OUT": str(request.output_dir)}
    with pytest.raises(ScannerError, match="too large to check for secret values; removed"):
        QScanner(make_options(qscanner_path=str(wrapper), base_env=env)).scan(request)
    assert not list(request.output_dir.glob("*ScanResult.json"))


def test_missing_binary_credentials_or_pod_fail_before_running(
    double: DoubleRun, make_options: Options, make_request: Request, tmp_path: Path
) -> None:
    with pytest.raises(ScannerError, match="cannot run qscanner"):
        QScanner(make_options(qscanner_path=str(tmp_path / "qscanner"))).scan(make_request())
    with pytest.raises(ScannerError, match="credentials missing"):
        QScanner(make_options(credentials=QualysCredentials())).scan(make_request())
    with pytest.raises(ScannerError, match="pod"):
        QScanner(make_options(pod="")).scan(make_request())
    with pytest.raises(ScannerError, match="invalid Qualys pod"):
        QScanner(make_options(pod="US1; rm -rf /")).scan(make_request())
    assert double.calls() == []


def test_sbom_is_picked_up_when_asked(
    double: DoubleRun, make_options: Options, make_request: Request
) -> None:
    result = QScanner(make_options(sbom=True)).scan(make_request())
    assert result.sbom is not None and "cyclonedx" in result.sbom.name
    assert SENTINEL_TOKEN not in "".join(p.read_text(errors="replace") for p in result.raw_files)


def test_deny_exit_counts_even_without_policy_tags(
    double: DoubleRun, make_options: Options, make_request: Request, tmp_path: Path
) -> None:
    # A binary that writes a good report and then exits 42 in get-report mode: still DENY.
    wrapper = tmp_path / "qscanner-exit-42"
    wrapper.write_text(f'#!/bin/sh\n"{DOUBLE}" "$@" || exit $?\nexit 42\n')
    wrapper.chmod(0o755)
    double.scenario = "clean"
    result = QScanner(make_options(qscanner_path=str(wrapper))).scan(make_request())
    assert result.verdict == "DENY" and result.mode == "get-report"


def test_a_killed_scanner_leaves_no_secret_in_its_console_log(
    double: DoubleRun, make_options: Options, make_request: Request
) -> None:
    double.scenario = "dump-env-hang"
    request = make_request(timeout=1.0)
    with pytest.raises(ScannerError, match="did not finish") as caught:
        QScanner(make_options(kill_grace=0.2)).scan(request)
    console = (request.output_dir / "console.log").read_text()
    assert "QUALYS_ACCESS_TOKEN=***" in console
    assert SENTINEL_TOKEN not in console and SENTINEL_TOKEN not in str(caught.value)
