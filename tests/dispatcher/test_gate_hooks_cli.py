"""`deployscan gate ecs-hook|cfn-hook|codedeploy-hook PAYLOAD` over moto: the Lambda's JSON
response printed, exit 0 whenever answered, 2 for an unreadable payload."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from scanner_runner.cli import main
from tests.dispatcher.conftest import EVENTS, REGION, TABLE
from tests.dispatcher.gatekit import record

RENDERER = "210987654321.dkr.ecr.eu-central-1.amazonaws.com/billing/renderer@sha256:" + "6e" * 32
ENV = {"SCAN_PROJECT_NAME": "deployscan-scan", "SCAN_CACHE_TABLE": TABLE, "GATE_MODE": "enforce"}


def run(*args: str, stdin: str | None = None, **env: str) -> Any:
    return CliRunner().invoke(
        main, ["gate", *args, "--region", REGION], input=stdin, env={**ENV, **env}
    )


def test_cfn_hook_prints_the_lambda_response(dynamodb: Any) -> None:
    record(dynamodb, RENDERER, "failed", critical=1)
    result = run("cfn-hook", str(EVENTS / "gate-cfn-hook-function.json"))
    assert result.exit_code == 0, result.output
    response = json.loads(result.output)
    assert (response["hookStatus"], response["errorCode"]) == ("FAILED", "NonCompliant")
    assert RENDERER in response["message"]


def test_the_payload_can_come_from_stdin(dynamodb: Any) -> None:
    record(dynamodb, RENDERER, "passed")
    text = (EVENTS / "gate-cfn-hook-function.json").read_text()
    result = run("cfn-hook", "-", stdin=text)
    assert json.loads(result.output)["hookStatus"] == "SUCCESS"


def test_ecs_hook_answers_even_when_the_revision_cannot_be_read(dynamodb: Any) -> None:
    result = run("ecs-hook", str(EVENTS / "gate-ecs-hook.json"))
    assert result.exit_code == 0
    response = json.loads(result.output)
    assert response["hookStatus"] == "FAILED"
    assert "DescribeServiceRevisions" in response["reason"]


def test_codedeploy_hook_does_not_report_without_report(dynamodb: Any) -> None:
    result = run("codedeploy-hook", str(EVENTS / "gate-codedeploy-hook.json"))
    assert result.exit_code == 0
    response = json.loads(result.output)
    assert (response["status"], response["reported"]) == ("Failed", False)


def test_a_misconfigured_gate_answers_like_the_lambda(dynamodb: Any) -> None:
    result = run("ecs-hook", str(EVENTS / "gate-ecs-hook.json"), SCAN_PROJECT_NAME="")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["hookStatus"] == "FAILED"
    assert "misconfigured" in result.stderr


@pytest.mark.parametrize("content", ["not json", "{", ""])
def test_an_unreadable_payload_exits_2(tmp_path: Path, content: str) -> None:
    path = tmp_path / "payload.json"
    path.write_text(content)
    result = run("ecs-hook", str(path))
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "not JSON" in result.output


def test_a_missing_payload_file_exits_2(tmp_path: Path) -> None:
    result = run("cfn-hook", str(tmp_path / "absent.json"))
    assert result.exit_code == 2
    assert "cannot read" in result.output


def test_an_unknown_hook_is_a_usage_error() -> None:
    assert run("sqs-hook", "-").exit_code == 2
