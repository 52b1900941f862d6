"""`deployscan dispatch`: the contract's decision lines and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from scanner_runner.cli import main
from tests.dispatcher.conftest import D1, ECR, EVENTS, create_project, create_table

KEYS = ["action", "image", "digest", "reason", "trigger", "account", "region", "container"]


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(main, ["dispatch", *args])


def _lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines()]


def test_offline_prints_one_line_per_decision_with_exactly_the_contract_keys() -> None:
    result = _invoke("--offline", str(EVENTS / "ecs-task-running.json"),
                     str(EVENTS / "ecs-create-service.json"))  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = _lines(result.stdout)
    assert all(list(line) == KEYS for line in lines)
    assert lines[0] == {
        "action": "build", "image": f"{ECR}/shop/checkout:2.3.1", "digest": D1, "reason": None,
        "trigger": "ecs:TaskStateChange", "account": "210987654321", "region": "eu-central-1",
        "container": "checkout",
    }  # fmt: skip
    assert (lines[2]["action"], lines[2]["reason"]) == ("skip", "needs-lookup")


def test_offline_makes_no_aws_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # any call would fail loudly
    result = _invoke("--offline", str(EVENTS / "lambda-update-function-code-image.json"))
    assert result.exit_code == 0, result.output
    assert _lines(result.stdout)[0]["reason"] == "needs-lookup"


@pytest.mark.parametrize(
    ("content", "expected"),
    [(None, "No such file"), ("{not json", "cannot read"), ("42", "unreadable input")],
)
def test_unreadable_input_exits_2_with_one_line(
    tmp_path: Path, content: str | None, expected: str
) -> None:
    path = tmp_path / "events.json"
    if content is not None:
        path.write_text(content)
    result = _invoke("--offline", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert expected in result.stderr


def test_dry_run_resolves_but_writes_and_starts_nothing(aws: None) -> None:
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    create_table(dynamodb, "scan-cache")
    result = _invoke("--dry-run", str(EVENTS / "ecs-create-service.json"))
    assert result.exit_code == 0, result.output
    (line,) = _lines(result.stdout)
    assert line["reason"] == "lookup-failed"  # moto has no such task definition: it asked ECS
    assert dynamodb.scan(TableName="scan-cache")["Count"] == 0


def test_executing_leases_and_starts_builds(
    aws: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    create_table(boto3.client("dynamodb", region_name="us-east-1"), "scan-cache")
    codebuild = boto3.client("codebuild", region_name="us-east-1")
    create_project(codebuild, "scan")
    result = _invoke(str(EVENTS / "ecs-task-running.json"))
    assert result.exit_code == 2  # settings missing: refuses to run half-configured
    assert "SCAN_PROJECT_NAME" in result.stderr
    monkeypatch.setenv("SCAN_PROJECT_NAME", "scan")
    monkeypatch.setenv("SCAN_CACHE_TABLE", "scan-cache")
    result = _invoke(str(EVENTS / "duplicates.json"))
    assert result.exit_code == 0, result.output
    reasons = [line["reason"] for line in _lines(result.stdout)]
    assert reasons == ["started", "started", "duplicate", "duplicate", "duplicate"]
    assert len(codebuild.list_builds_for_project(projectName="scan")["ids"]) == 2
    result = _invoke(str(EVENTS / "ecs-task-running.json"))
    assert [line["reason"] for line in _lines(result.stdout)] == ["scan-in-progress"] * 2


def test_absurdly_nested_input_exits_2_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000)
    result = _invoke("--offline", str(path))
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "cannot read" in result.stderr


def test_executing_exits_1_when_a_record_is_left_for_retry(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_table(boto3.client("dynamodb", region_name="us-east-1"), "scan-cache")
    monkeypatch.setenv("SCAN_PROJECT_NAME", "no-such-project")  # StartBuild fails
    monkeypatch.setenv("SCAN_CACHE_TABLE", "scan-cache")
    result = _invoke(str(EVENTS / "ecs-task-running.json"))
    assert result.exit_code == 1, result.output
    assert {line["reason"] for line in _lines(result.stdout)} == {"launch-failed"}
    assert "exit 1 (only when executing)" in " ".join(_invoke("--help").stdout.split())


def test_a_bad_file_among_good_ones_stops_before_any_work(
    aws: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    create_table(boto3.client("dynamodb", region_name="us-east-1"), "scan-cache")
    create_project(boto3.client("codebuild", region_name="us-east-1"), "scan")
    monkeypatch.setenv("SCAN_PROJECT_NAME", "scan")
    monkeypatch.setenv("SCAN_CACHE_TABLE", "scan-cache")
    bad = tmp_path / "number.json"
    bad.write_text("42")
    result = _invoke(str(EVENTS / "ecs-task-running.json"), str(bad))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "number.json" in result.stderr
    scan = boto3.client("dynamodb", region_name="us-east-1").scan(TableName="scan-cache")
    assert scan["Count"] == 0  # no lease taken, no build started for the good file
