"""The ECS lifecycle hook over the scan cache in moto; `ecs:DescribeServiceRevisions` (which moto
lacks) under a botocore Stubber asserting the exact request; ECR tags resolved in moto."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from dispatcher.gate import ecs_hook
from dispatcher.gate.answer import stamp
from dispatcher.gate.breakglass import BreakGlass
from dispatcher.gate.runtime import lambda_runtime
from dispatcher.gate.settings import GateSettings
from tests.dispatcher.conftest import D1, ECR, REGION, RecordingLauncher, push_ecr_image
from tests.dispatcher.gatekit import (
    NOW,
    REPORT,
    Clock,
    Session,
    in_flight,
    payload,
    record,
    runtime,
)

REVISION = (
    "arn:aws:ecs:eu-central-1:210987654321:service-revision/shop/checkout/5512903384417726011"
)
IMAGE = f"{ECR}/shop/checkout:2.4.0@{D1}"
MOTO = "123456789012"  # the account moto's own resources live in


def ecs(*revisions: list[dict[str, Any]], arn: str = REVISION) -> tuple[Any, Stubber]:
    """An ECS client whose DescribeServiceRevisions answers each list of containers in turn."""
    client = boto3.client("ecs", region_name=REGION)
    stub = Stubber(client)
    for containers in revisions:
        answer = {
            "serviceRevisions": [
                {
                    "serviceRevisionArn": arn,
                    "serviceArn": "arn:aws:ecs:eu-central-1:210987654321:service/shop/checkout",
                    "containerImages": containers,
                }
            ],
            "failures": [],
        }
        stub.add_response("describe_service_revisions", answer, {"serviceRevisionArns": [arn]})
    stub.activate()
    return client, stub


def app(image: str = f"{ECR}/shop/checkout:2.4.0", digest: str | None = D1) -> dict[str, Any]:
    container = {"containerName": "app", "image": image}
    if digest:
        container["imageDigest"] = digest
    return container


def ask(dynamodb: Any, event: Any = None, *, rounds: int = 1, **kwargs: Any) -> dict[str, Any]:
    client, _ = ecs(*[[app()]] * rounds)
    run = runtime(dynamodb, clients={"ecs": client, **kwargs.pop("clients", {})}, **kwargs)
    response = ecs_hook.answer(payload("gate-ecs-hook.json") if event is None else event, run)
    json.dumps(response)  # what the Lambda returns must serialise
    return response


def test_a_passed_scan_succeeds_and_names_image_verdict_and_report(dynamodb: Any) -> None:
    record(dynamodb, IMAGE, "passed")
    client, stub = ecs([app()])
    response = ecs_hook.answer(
        payload("gate-ecs-hook.json"), runtime(dynamodb, clients={"ecs": client})
    )
    stub.assert_no_pending_responses()
    assert response["hookStatus"] == "SUCCEEDED"
    assert f"shop/checkout:2.4.0@{D1}: ALLOW" in response["reason"]
    assert REPORT in response["reason"]
    assert "callBackDelay" not in response


def test_a_failed_scan_fails_the_hook_with_the_reason(dynamodb: Any) -> None:
    record(dynamodb, IMAGE, "failed", critical=2)
    response = ask(dynamodb)
    assert response["hookStatus"] == "FAILED"
    assert "blocked: 1 of 1 image(s) denied" in response["reason"]
    assert "critical 2" in response["reason"] and REPORT in response["reason"]


def test_a_missing_scan_is_started_then_the_hook_waits_then_succeeds(dynamodb: Any) -> None:
    launcher, clock = RecordingLauncher(), Clock()
    client, _ = ecs([app()], [app()])
    run = runtime(dynamodb, clients={"ecs": client}, launcher=launcher, clock=clock)
    first = ecs_hook.answer(payload("gate-ecs-hook.json"), run)
    assert (first["hookStatus"], first["callBackDelay"]) == ("IN_PROGRESS", 30)
    assert first["hookDetails"] == {ecs_hook.FIRST_SEEN: stamp(NOW)}
    [request] = launcher.requests
    assert request.trigger == "gate:ecs-hook"
    assert request.environment()["IMAGE_DIGEST"] == D1
    record(dynamodb, IMAGE, "passed", at=NOW + 20)
    clock.now += 30
    # ECS merges the returned hookDetails into the configured ones for the next call.
    again = payload("gate-ecs-hook.json", hookDetails={"team": "payments", **first["hookDetails"]})
    second = ecs_hook.answer(again, run)
    assert second["hookStatus"] == "SUCCEEDED"
    assert len(launcher.requests) == 1


@pytest.mark.parametrize(("on_timeout", "status"), [("allow", "SUCCEEDED"), ("deny", "FAILED")])
def test_a_scan_still_running_past_the_wait_takes_gate_on_timeout(
    dynamodb: Any, on_timeout: str, status: str
) -> None:
    in_flight(dynamodb, IMAGE)
    gate = GateSettings(
        mode="enforce", scanner="qscanner", max_wait_minutes=10, on_timeout=on_timeout
    )
    seen = {ecs_hook.FIRST_SEEN: stamp(NOW - 601)}
    response = ask(dynamodb, payload("gate-ecs-hook.json", hookDetails=seen), gate=gate)
    assert response["hookStatus"] == status
    assert f"GATE_ON_TIMEOUT={on_timeout}" in response["reason"]
    assert response["hookDetails"] == seen  # the first sighting is kept, not renewed


def test_the_callback_delay_never_overshoots_the_wait(dynamodb: Any) -> None:
    in_flight(dynamodb, IMAGE)
    seen = {ecs_hook.FIRST_SEEN: stamp(NOW - 590)}
    response = ask(dynamodb, payload("gate-ecs-hook.json", hookDetails=seen))
    assert response["hookStatus"] == "IN_PROGRESS"
    assert 1 <= response["callBackDelay"] <= 11


@pytest.mark.parametrize(("on_error", "status"), [("allow", "SUCCEEDED"), ("deny", "FAILED")])
def test_a_scan_that_ended_in_error_during_this_deploy_takes_gate_on_error(
    dynamodb: Any, on_error: str, status: str
) -> None:
    record(dynamodb, IMAGE, "error", at=NOW - 10)
    gate = GateSettings(mode="enforce", scanner="qscanner", on_error=on_error)
    seen = {ecs_hook.FIRST_SEEN: stamp(NOW - 120)}
    launcher = RecordingLauncher()
    response = ask(
        dynamodb, payload("gate-ecs-hook.json", hookDetails=seen), gate=gate, launcher=launcher
    )
    assert response["hookStatus"] == status
    assert "the last scan ended in error" in response["reason"]
    assert f"GATE_ON_ERROR={on_error}" in response["reason"]
    assert launcher.requests == []  # this deploy already had its retry


def test_a_scan_that_ended_in_error_before_the_deploy_is_scanned_again(dynamodb: Any) -> None:
    record(dynamodb, IMAGE, "error", at=NOW - 3000)
    launcher = RecordingLauncher()
    response = ask(dynamodb, launcher=launcher)
    assert response["hookStatus"] == "IN_PROGRESS"
    assert "the last scan ended in error; scan started" in response["reason"]
    [request] = launcher.requests
    assert request.trigger == "gate:ecs-hook"


def test_a_tag_is_resolved_to_its_digest_in_ecr(dynamodb: Any) -> None:
    digest = push_ecr_image("shop/checkout", "2.4.0", region=REGION)
    ecr = boto3.client("ecr", region_name=REGION)
    # moto keeps the repository in its own account: the tag is read there, through the role.
    image = f"{MOTO}.dkr.ecr.{REGION}.amazonaws.com/shop/checkout:2.4.0"
    record(dynamodb, f"{image}@{digest}", "passed")
    client, _ = ecs([app(image, digest=None)])
    run = runtime(dynamodb, clients={"ecs": client, "ecr": ecr})
    response = ecs_hook.answer(payload("gate-ecs-hook.json"), run)
    assert response["hookStatus"] == "SUCCEEDED", response["reason"]
    assert digest in response["reason"]


def test_an_unknown_tag_is_answered_per_gate_on_error(dynamodb: Any) -> None:
    ecr = boto3.client("ecr", region_name=REGION)
    ecr.create_repository(repositoryName="shop/checkout")
    client, _ = ecs([app(digest=None)])
    response = ecs_hook.answer(
        payload("gate-ecs-hook.json"), runtime(dynamodb, clients={"ecs": client, "ecr": ecr})
    )
    assert response["hookStatus"] == "FAILED"
    assert "ECR has no image with this tag" in response["reason"]


def test_audit_mode_never_blocks_but_says_what_it_would_have_blocked(dynamodb: Any) -> None:
    record(dynamodb, IMAGE, "failed", high=3)
    response = ask(dynamodb, gate=GateSettings(mode="audit", scanner="qscanner"))
    assert response["hookStatus"] == "SUCCEEDED"
    assert "audit mode: would have blocked 1" in response["reason"]
    assert "high 3" in response["reason"]


@pytest.mark.parametrize(("expires", "status"), [(NOW + 600, "SUCCEEDED"), (NOW - 1, "FAILED")])
def test_a_break_glass_entry_allows_only_until_it_expires(
    dynamodb: Any, expires: float, status: str
) -> None:
    record(dynamodb, IMAGE, "failed", critical=1)
    entry = BreakGlass("shop/checkout", "", expires, "INC-311 hotfix")
    response = ask(dynamodb, breakglass=(entry,))
    assert response["hookStatus"] == status
    assert ("break-glass: INC-311 hotfix" in response["reason"]) == (status == "SUCCEEDED")


class AssumedSessions:
    """Stands in for boto3.session.Session(**credentials): records what was assumed."""

    def __init__(self, clients: dict[str, Any]) -> None:
        self.clients = clients
        self.credentials: list[dict[str, Any]] = []

    def __call__(self, **credentials: Any) -> Any:
        self.credentials.append(credentials)
        return Session(self.clients)


def test_a_service_in_another_account_is_read_through_the_read_only_role(dynamodb: Any) -> None:
    other = "arn:aws:ecs:eu-central-1:333344445555:service-revision/shop/checkout/42"
    record(dynamodb, IMAGE, "passed")
    client, stub = ecs([app()], arn=other)
    assumed = AssumedSessions({"ecs": client})
    run = runtime(dynamodb, session_factory=assumed)
    event = payload("gate-ecs-hook.json")
    event["executionDetails"]["targetServiceRevisionArn"] = other
    response = ecs_hook.answer(event, run)
    assert response["hookStatus"] == "SUCCEEDED", response["reason"]
    assert len(assumed.credentials) == 1
    stub.assert_no_pending_responses()


def test_describe_service_revisions_refused_is_answered_per_gate_on_error(dynamodb: Any) -> None:
    client = boto3.client("ecs", region_name=REGION)
    stub = Stubber(client)
    stub.add_client_error(
        "describe_service_revisions",
        "AccessDeniedException",
        expected_params={"serviceRevisionArns": [REVISION]},
    )
    stub.activate()
    response = ecs_hook.answer(
        payload("gate-ecs-hook.json"), runtime(dynamodb, clients={"ecs": client})
    )
    assert response["hookStatus"] == "FAILED"
    assert (
        "AccessDeniedException" in response["reason"] and "GATE_ON_ERROR=deny" in response["reason"]
    )


def hostile_payloads() -> list[Any]:
    shell = payload("gate-ecs-hook.json")
    shell["executionDetails"]["targetServiceRevisionArn"] = REVISION + ";rm -rf /"
    no_details = payload("gate-ecs-hook.json")
    del no_details["executionDetails"]
    wrong = payload("gate-ecs-hook.json", hookDetails={ecs_hook.FIRST_SEEN: {"$gt": 1}})
    wrong["executionDetails"] = ["not", "an", "object"]
    number = payload("gate-ecs-hook.json")
    number["executionDetails"]["targetServiceRevisionArn"] = 42
    return [None, [], "PRE_SCALE_UP", 42, {}, shell, no_details, wrong, number]


@pytest.mark.parametrize("event", hostile_payloads())
def test_a_hostile_payload_is_answered_never_raised(dynamodb: Any, event: Any) -> None:
    response = ecs_hook.answer(event, runtime(dynamodb))
    assert response["hookStatus"] == "FAILED"
    assert "GATE_ON_ERROR=deny" in response["reason"]


@pytest.mark.parametrize(
    "containers",
    [
        [app(f"{ECR}/shop/checkout:$(reboot)")],
        [app("a;b|c`d`")],
        [{"containerName": "app", "image": "", "imageDigest": "md5:not-a-digest"}],
        [app(f"{ECR}/svc{n}:1", f"sha256:{n:064x}") for n in range(60)],
    ],
    ids=["command-substitution", "shell-metacharacters", "empty-image", "huge-revision"],
)
def test_a_hostile_revision_is_answered_never_raised(dynamodb: Any, containers: list[Any]) -> None:
    client, _ = ecs(containers)
    launcher = RecordingLauncher()
    response = ecs_hook.answer(
        payload("gate-ecs-hook.json"), runtime(dynamodb, clients={"ecs": client}, launcher=launcher)
    )
    assert response["hookStatus"] == "FAILED"
    assert "GATE_ON_ERROR=deny" in response["reason"]
    assert launcher.requests == []


def test_the_lambda_handler_answers_even_when_misconfigured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SCAN_PROJECT_NAME", raising=False)
    monkeypatch.setenv("GATE_MODE", "enforce")
    lambda_runtime.cache_clear()
    response = ecs_hook.handler(payload("gate-ecs-hook.json"), None)
    assert response["hookStatus"] == "FAILED"
    assert "misconfigured" in response["reason"]
    monkeypatch.setenv("GATE_MODE", "audit")
    assert ecs_hook.handler(payload("gate-ecs-hook.json"), None)["hookStatus"] == "SUCCEEDED"
