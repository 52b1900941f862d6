"""Buildspec rules, secrets resolution, report checks and the cache, one concern per test."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from scanner_runner.devtools.localbuild import cache
from scanner_runner.devtools.localbuild.buildspec import ReportSpec, parse_buildspec
from scanner_runner.devtools.localbuild.errors import BuildspecError, SecretResolutionError
from scanner_runner.devtools.localbuild.executor import run_build
from scanner_runner.devtools.localbuild.reports import MAX_TEST_CASES, collect_report
from scanner_runner.devtools.localbuild.secrets import SecretReference, resolve_secret
from tests.localbuild.conftest import MakeJob

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 0.1\n", "0.2"),
        ("version: 0.2\nstages: {}\n", "unknown top-level"),
        ("version: 0.2\nphases: {deploy: {commands: [x]}}\n", "unknown phases"),
        (
            "version: 0.2\nphases: {build: {on-failure: RETRY, commands: [x]}}\n",
            "ABORT or CONTINUE",
        ),
        ("version: 0.2\nphases: {build: {commands: {a: b}}}\n", "list of strings"),
        ("version: 0.2\nenv: {exported-variables: [AWS_REGION]}\n", "AWS_"),
        ("version: 0.2\nenv: {secrets-manager: {T: s:k}, exported-variables: [T]}\n", "secret"),
        ("version: 0.2\nreports: {g: {file-format: JUNITXML}}\n", "files is required"),
        ("version: 0.2\nreports: {g: {files: [a], file-format: PDF}}\n", "file-format"),
        ("version: 0.2\nenv: {shell: powershell}\n", "shell"),
        ("version: 0.2\nphases: {build: {commands: [a]}\n", "not valid YAML"),
        ("- a\n", "mapping"),
    ],
)
def test_buildspec_rules(text: str, message: str) -> None:
    if "phases" not in text and text.startswith("version: 0.2"):
        text += "phases: {build: {commands: [x]}}\n"
    with pytest.raises(BuildspecError, match=message.replace(".", r"\.")):
        parse_buildspec(text)


def test_phases_are_required() -> None:
    with pytest.raises(BuildspecError, match="phases must be a mapping"):
        parse_buildspec("version: 0.2\n")


def test_too_many_report_groups() -> None:
    groups = "".join(f"  g{i}: {{files: [a]}}\n" for i in range(6))
    with pytest.raises(BuildspecError, match="at most 5"):
        parse_buildspec(f"version: 0.2\nphases: {{build: {{commands: [x]}}}}\nreports:\n{groups}")


def test_phases_run_in_codebuild_order_whatever_the_file_order() -> None:
    spec = parse_buildspec(
        "version: 0.2\nphases:\n  post_build: {commands: [c]}\n  install: {commands: [a]}\n"
        "  build: {commands: [b], finally: [f]}\n"
    )
    assert [(p.name, p.commands, p.finally_commands) for p in spec.phases] == [
        ("install", ("a",), ()),
        ("build", ("b",), ("f",)),
        ("post_build", ("c",), ()),
    ]


def test_the_project_buildspec_parses() -> None:
    spec = parse_buildspec((ROOT / "buildspecs" / "scan.yml").read_text())
    assert [r.group for r in spec.reports] == ["findings"]
    # The token comes from the project's SECRETS_MANAGER variable, never from the buildspec.
    assert spec.secrets_manager == {}
    assert "QUALYS_ACCESS_TOKEN" not in spec.variables
    assert {"SCAN_STATUS", "SCAN_EXIT_CODE", "SCAN_REPORT_URI"} <= set(spec.exported_variables)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("deployscan/qualys", ("deployscan/qualys", "", "", "")),
        ("deployscan/qualys:qualys_pod", ("deployscan/qualys", "qualys_pod", "", "")),
        ("s:k:AWSPREVIOUS", ("s", "k", "AWSPREVIOUS", "")),
        (
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:deployscan/qualys-AbC:tok::v1",
            ("arn:aws:secretsmanager:us-east-1:123456789012:secret:deployscan/qualys-AbC",
             "tok", "", "v1"),
        ),
    ],
)  # fmt: skip
def test_secret_reference_parsing(text: str, expected: tuple[str, ...]) -> None:
    ref = SecretReference.parse(text)
    assert (ref.secret_id, ref.json_key, ref.version_stage, ref.version_id) == expected


def test_secrets_are_resolved_masked_and_missing_ones_fail_the_build(
    aws: None, make_job: MakeJob
) -> None:
    client = boto3.client("secretsmanager")
    arn = client.create_secret(
        Name="deployscan/qualys", SecretString=json.dumps({"qualys_access_token": "tok-SECRET-1"})
    )["ARN"]
    assert resolve_secret(client, f"{arn}:qualys_access_token") == "tok-SECRET-1"
    with pytest.raises(SecretResolutionError, match="no key"):
        resolve_secret(client, "deployscan/qualys:missing")
    spec = """
        version: 0.2
        env:
          secrets-manager: {TOKEN: "deployscan/qualys:qualys_access_token"}
          exported-variables: [LENGTH]
        phases:
          build:
            commands: ['echo "token is $TOKEN"', 'export LENGTH=${#TOKEN}']
        """
    lines: list[str] = []
    result = run_build(make_job(spec), secrets_client=client, output=lines.append)
    assert result.status == "SUCCEEDED"
    assert result.exported_variables == {"LENGTH": "12"}
    assert "token is ***" in lines
    assert not any("tok-SECRET-1" in line for line in lines)
    missing = run_build(make_job(spec.replace("deployscan/qualys", "nope")), secrets_client=client)
    assert missing.status == "FAILED"
    assert missing.phase("PROVISIONING").status == "FAILED"  # type: ignore[union-attr]
    assert missing.phase("BUILD") is None


def junit(path: Path, passed: int, failed: int) -> None:
    cases = [f'<testcase classname="pkg@1" name="ok {i}"/>' for i in range(passed)]
    cases += [
        f'<testcase classname="pkg@1" name="bad {i}"><failure message="m"/></testcase>'
        for i in range(failed)
    ]
    path.write_text(f'<testsuites><testsuite name="img">{"".join(cases)}</testsuite></testsuites>')


def test_reports_are_parsed_and_capped_failed_first(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    junit(tmp_path / "out" / "junit.xml", passed=590, failed=20)
    report = collect_report(ReportSpec("findings", ("*.xml",), "out"), tmp_path)
    assert report.status == "SUCCEEDED" and report.truncated
    assert len(report.cases) == MAX_TEST_CASES
    assert report.count("FAILED") == 20
    assert report.cases[0].status == "FAILED" and report.cases[0].prefix == "pkg@1"


@pytest.mark.parametrize(
    ("content", "status"),
    [(None, "INCOMPLETE"), ("<testsuites><testsuite", "FAILED"), ("<html/>", "FAILED")],
)
def test_missing_or_broken_reports(tmp_path: Path, content: str | None, status: str) -> None:
    if content is not None:
        (tmp_path / "junit.xml").write_text(content)
    assert collect_report(ReportSpec("findings", ("junit.xml",)), tmp_path).status == status


def test_cache_keeps_home_paths_between_builds(tmp_path: Path) -> None:
    home1, home2, store = tmp_path / "h1", tmp_path / "h2", tmp_path / "cache"
    (home1 / ".cache" / "deployscan").mkdir(parents=True)
    (home1 / ".cache" / "deployscan" / "qscanner").write_bytes(b"bin")
    (home1 / "elsewhere").write_text("not cached")
    patterns = ["/root/.cache/deployscan/**/*", "/opt/tool/**/*"]
    assert cache.save(store, home1, patterns) == 1
    assert cache.restore(store, home2) == 1
    assert (home2 / ".cache" / "deployscan" / "qscanner").read_bytes() == b"bin"
    assert not (home2 / "elsewhere").exists()
