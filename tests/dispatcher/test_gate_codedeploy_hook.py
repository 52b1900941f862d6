"""The CodeDeploy BeforeAllowTraffic hook: CodeDeploy's GetDeployment, GetApplicationRevision and
PutLifecycleEventHookExecutionStatus (moto lacks them) under a botocore Stubber asserting each
exact request; the function version's image from lambda:GetFunction in moto."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from dispatcher.gate import codedeploy_hook
from dispatcher.gate.breakglass import BreakGlass
from dispatcher.gate.runtime import lambda_runtime
from dispatcher.gate.settings import GateSettings
from tests.dispatcher.conftest import REGION, RecordingLauncher
from tests.dispatcher.gatekit import NOW, Clock, in_flight, payload, record, runtime

DEPLOYMENT = "d-7KQ2M9XB4"
EXECUTION = "eyJlbmNyeXB0ZWREYXRhIjoiZXhhbXBsZS1vbmx5LW5vdC1hLXJlYWwtdG9rZW4ifQ=="
APPLICATION = "invoices-app"
REVISION = {"revisionType": "AppSpecContent", "appSpecContent": {"sha256": "ab" * 32}}
FUNCTION = "invoices-prod-Renderer"


def appspec(name: str = FUNCTION, version: str = "1") -> str:
    return json.dumps(
        {
            "version": 0.0,
            "Resources": [
                {
                    "Renderer": {
                        "Type": "AWS::Lambda::Function",
                        "Properties": {
                            "Name": name,
                            "Alias": "live",
                            "CurrentVersion": "0",
                            "TargetVersion": version,
                        },
                    }
                }
            ],
            "Hooks": [{"BeforeAllowTraffic": "CodeDeployHook_deployscan"}],
        }
    )


def codedeploy(status: str | None, content: str | None = None) -> tuple[Any, Stubber]:
    """CodeDeploy answering one deployment (content only through GetApplicationRevision, as
    AWS does) and expecting `status` to be reported (None: no report expected)."""
    client = boto3.client("codedeploy", region_name=REGION)
    stub = Stubber(client)
    info = {"applicationName": APPLICATION, "deploymentId": DEPLOYMENT, "revision": REVISION}
    stub.add_response("get_deployment", {"deploymentInfo": info}, {"deploymentId": DEPLOYMENT})
    full = {**REVISION, "appSpecContent": {"content": content or appspec(), "sha256": "ab" * 32}}
    stub.add_response(
        "get_application_revision",
        {"applicationName": APPLICATION, "revision": full},
        {"applicationName": APPLICATION, "revision": REVISION},
    )
    if status:
        stub.add_response(
            "put_lifecycle_event_hook_execution_status",
            {"lifecycleEventHookExecutionId": EXECUTION},
            {
                "deploymentId": DEPLOYMENT,
                "lifecycleEventHookExecutionId": EXECUTION,
                "status": status,
            },
        )
    stub.activate()
    return client, stub


@pytest.fixture
def image(aws: None) -> str:
    """An image function published as version 1 in moto; its ResolvedImageUri."""
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="renderer", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = boto3.client("lambda", region_name=REGION)
    lam.create_function(
        FunctionName=FUNCTION,
        Role=role,
        PackageType="Image",
        Code={"ImageUri": "123456789012.dkr.ecr.eu-central-1.amazonaws.com/billing/renderer:7"},
        Publish=True,
    )
    resolved = lam.get_function(FunctionName=FUNCTION, Qualifier="1")["Code"]["ResolvedImageUri"]
    return str(resolved)


def decide(
    dynamodb: Any, status: str | None, *, deadline: float = NOW + 900, **kwargs: Any
) -> dict[str, Any]:
    client, stub = codedeploy(status, kwargs.pop("content", None))
    run = runtime(dynamodb, clients={"codedeploy": client}, **kwargs)
    response = codedeploy_hook.answer(payload("gate-codedeploy-hook.json"), run, deadline=deadline)
    stub.assert_no_pending_responses()
    return response


def test_a_passed_scan_reports_succeeded(dynamodb: Any, image: str) -> None:
    record(dynamodb, image, "passed")
    response = decide(dynamodb, "Succeeded")
    assert (response["status"], response["reported"]) == ("Succeeded", True)
    assert image in response["message"] and "ALLOW" in response["message"]


def test_a_failed_scan_reports_failed(dynamodb: Any, image: str) -> None:
    record(dynamodb, image, "failed", critical=4)
    response = decide(dynamodb, "Failed")
    assert response["status"] == "Failed"
    assert "critical 4" in response["message"]


def test_it_waits_for_a_running_scan_then_succeeds(dynamodb: Any, image: str) -> None:
    in_flight(dynamodb, image)
    clock = Clock()

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        record(dynamodb, image, "passed", at=clock.now)

    client, stub = codedeploy("Succeeded")
    run = replace(runtime(dynamodb, clients={"codedeploy": client}, clock=clock), sleep=sleep)
    response = codedeploy_hook.answer(payload("gate-codedeploy-hook.json"), run, deadline=NOW + 900)
    assert response["status"] == "Succeeded"
    assert clock.slept == [codedeploy_hook.POLL_SECONDS]
    stub.assert_no_pending_responses()


@pytest.mark.parametrize(("on_timeout", "status"), [("allow", "Succeeded"), ("deny", "Failed")])
def test_a_scan_running_past_the_wait_takes_gate_on_timeout(
    dynamodb: Any, image: str, on_timeout: str, status: str
) -> None:
    in_flight(dynamodb, image)
    clock = Clock()
    gate = GateSettings(
        mode="enforce", scanner="qscanner", max_wait_minutes=1, on_timeout=on_timeout
    )
    response = decide(dynamodb, status, gate=gate, clock=clock)
    assert response["status"] == status
    assert f"GATE_ON_TIMEOUT={on_timeout}" in response["message"]
    assert NOW + 45 <= clock.now <= NOW + 60


def test_it_reports_before_its_own_lambda_timeout(dynamodb: Any, image: str) -> None:
    in_flight(dynamodb, image)
    clock = Clock()
    response = decide(dynamodb, "Failed", clock=clock, deadline=NOW + 50)
    assert response["status"] == "Failed"
    assert clock.now <= NOW + 50 - codedeploy_hook.MARGIN_SECONDS


@pytest.mark.parametrize(("on_error", "status"), [("allow", "Succeeded"), ("deny", "Failed")])
def test_a_scan_ending_in_error_takes_gate_on_error(
    dynamodb: Any, image: str, on_error: str, status: str
) -> None:
    in_flight(dynamodb, image)
    clock = Clock()

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        record(dynamodb, image, "error", at=clock.now)

    client, _ = codedeploy(status)
    gate = GateSettings(mode="enforce", scanner="qscanner", on_error=on_error)
    run = replace(runtime(dynamodb, gate, clients={"codedeploy": client}, clock=clock), sleep=sleep)
    response = codedeploy_hook.answer(payload("gate-codedeploy-hook.json"), run, deadline=NOW + 900)
    assert response["status"] == status
    assert "the last scan ended in error" in response["message"]


def test_a_never_scanned_image_gets_one_scan_started(dynamodb: Any, image: str) -> None:
    launcher = RecordingLauncher()
    gate = GateSettings(mode="enforce", scanner="qscanner", max_wait_minutes=1)
    response = decide(dynamodb, "Failed", gate=gate, launcher=launcher)
    [request] = launcher.requests
    assert request.trigger == "gate:codedeploy-hook"
    assert "scan in progress (build deployscan-scan:1)" in response["message"]


def test_audit_mode_never_blocks(dynamodb: Any, image: str) -> None:
    record(dynamodb, image, "failed", critical=1)
    response = decide(dynamodb, "Succeeded", gate=GateSettings(mode="audit"))
    assert "audit mode: would have blocked 1" in response["message"]


@pytest.mark.parametrize(("expires", "status"), [(NOW + 60, "Succeeded"), (NOW - 60, "Failed")])
def test_break_glass_until_it_expires(
    dynamodb: Any, image: str, expires: float, status: str
) -> None:
    record(dynamodb, image, "failed", critical=1)
    entry = BreakGlass("billing/renderer", "", expires, "INC-9")
    assert decide(dynamodb, status, breakglass=(entry,))["status"] == status


def test_a_yaml_appspec_is_read(dynamodb: Any, image: str) -> None:
    record(dynamodb, image, "passed")
    content = "\n".join(
        [
            "version: 0.0",
            "Resources:",
            "  - Renderer:",
            "      Type: AWS::Lambda::Function",
            "      Properties:",
            f"        Name: {FUNCTION}",
            "        Alias: live",
            "        CurrentVersion: '0'",
            "        TargetVersion: '1'",
        ]
    )
    assert decide(dynamodb, "Succeeded", content=content)["status"] == "Succeeded"


@pytest.mark.parametrize(
    "content",
    ["{}", "not an appspec", appspec(name="fn;rm -rf /"), appspec(version="$(id)"), "[" * 5000],
)
def test_a_bad_appspec_is_reported_per_gate_on_error(dynamodb: Any, content: str) -> None:
    response = decide(dynamodb, "Failed", content=content)
    assert response["status"] == "Failed"
    assert "GATE_ON_ERROR=deny" in response["message"]


@pytest.mark.parametrize(
    "event",
    [
        None,
        [],
        {},
        {"DeploymentId": DEPLOYMENT},
        {"DeploymentId": "d-1;reboot", "LifecycleEventHookExecutionId": 7},
    ],
)
def test_a_hostile_payload_is_answered_and_not_reported(dynamodb: Any, event: Any) -> None:
    client = boto3.client("codedeploy", region_name=REGION)
    with Stubber(client) as stub:  # nothing may be asked of CodeDeploy
        response = codedeploy_hook.answer(
            event, runtime(dynamodb, clients={"codedeploy": client}), deadline=NOW + 900
        )
        stub.assert_no_pending_responses()
    assert (response["status"], response["reported"]) == ("Failed", False)
    assert "not reported" in response["message"]


def test_a_refused_report_is_said_not_raised(dynamodb: Any, image: str) -> None:
    record(dynamodb, image, "passed")
    client = boto3.client("codedeploy", region_name=REGION)
    stub = Stubber(client)
    info = {
        "applicationName": APPLICATION,
        "revision": {**REVISION, "appSpecContent": {"content": appspec()}},
    }
    stub.add_response("get_deployment", {"deploymentInfo": info}, {"deploymentId": DEPLOYMENT})
    stub.add_client_error(
        "put_lifecycle_event_hook_execution_status", "LifecycleEventAlreadyCompletedException"
    )
    stub.activate()
    run = runtime(dynamodb, clients={"codedeploy": client})
    response = codedeploy_hook.answer(payload("gate-codedeploy-hook.json"), run, deadline=NOW + 900)
    assert (response["status"], response["reported"]) == ("Succeeded", False)
    assert "LifecycleEventAlreadyCompletedException" in response["message"]


def test_the_lambda_handler_answers_even_when_misconfigured(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCAN_PROJECT_NAME", raising=False)
    monkeypatch.setenv("GATE_MODE", "enforce")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    lambda_runtime.cache_clear()
    response = codedeploy_hook.handler(payload("gate-codedeploy-hook.json"), None)
    assert (response["status"], response["reported"]) == ("Failed", False)
    assert "misconfigured" in response["message"] and "not reported" in response["message"]
