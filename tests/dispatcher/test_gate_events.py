"""The gate's final decisions reach EventBridge as "Gate Decision" events (moto delivers them
through a rule to SQS, each checked against docs/events.schema.json); a wait sends none, and a
bus that refuses never changes the hook's answer."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from dispatcher.gate import ecs_hook
from dispatcher.gate.publish import DecisionEvents
from dispatcher.gate.runtime import from_env
from tests.dispatcher.conftest import REGION
from tests.dispatcher.gatekit import payload, record, runtime
from tests.dispatcher.test_gate_ecs_hook import IMAGE, app, ecs
from tests.eventsink import received, rule_queue, validate_event


@pytest.fixture
def listening(aws: None) -> tuple[Any, Any, str]:
    """An events client and the queue a `source: deployscan` rule on the default bus feeds."""
    events, sqs = (
        boto3.client("events", region_name=REGION),
        boto3.client("sqs", region_name=REGION),
    )
    url = rule_queue(events, sqs, "gate-events", {"source": ["deployscan"]}, rule="gate")
    return events, sqs, url


def hook_answer(dynamodb: Any, events: Any, rounds: int = 1) -> dict[str, Any]:
    client, _ = ecs(*[[app()]] * rounds)
    run = runtime(dynamodb, clients={"ecs": client})
    run = dataclasses.replace(run, events=DecisionEvents(events, "", run.gate.mode, "1", REGION))
    return ecs_hook.answer(payload("gate-ecs-hook.json"), run)


def test_a_denied_image_is_published_as_a_gate_decision(
    dynamodb: Any, listening: tuple[Any, Any, str]
) -> None:
    events, sqs, url = listening
    record(dynamodb, IMAGE, "failed", critical=2)
    assert hook_answer(dynamodb, events)["hookStatus"] == "FAILED"
    [event] = received(sqs, url)
    validate_event(event)
    assert (event["source"], event["detail-type"]) == ("deployscan", "Gate Decision")
    detail = event["detail"]
    assert (detail["gate"], detail["mode"], detail["decision"]) == ("ecs-hook", "enforce", "deny")
    assert detail["image"] == IMAGE
    assert event["resources"] == [detail["resource"]]
    assert (
        detail["resource"].startswith("arn:aws:ecs:") and ":service-revision/" in detail["resource"]
    )


def test_a_hook_that_waits_publishes_nothing(
    dynamodb: Any, listening: tuple[Any, Any, str]
) -> None:
    events, sqs, url = listening
    assert hook_answer(dynamodb, events)["hookStatus"] == "IN_PROGRESS"  # scan started
    assert received(sqs, url) == []


def test_a_bus_that_refuses_leaves_the_answer_alone_and_is_logged(
    dynamodb: Any, aws: None, caplog: pytest.LogCaptureFixture
) -> None:
    record(dynamodb, IMAGE, "passed")
    events = boto3.client("events", region_name=REGION)
    stub = Stubber(events)
    for _ in range(2):
        stub.add_client_error("put_events", "AccessDeniedException", "not allowed")
    stub.activate()
    with caplog.at_level(logging.WARNING):
        assert hook_answer(dynamodb, events)["hookStatus"] == "SUCCEEDED"
    assert "Gate Decision event" in caplog.text


def test_the_runtime_publishes_only_when_the_stack_names_a_bus(aws: None) -> None:
    env = {"SCAN_PROJECT_NAME": "p", "SCAN_CACHE_TABLE": "t", "GATE_MODE": "enforce"}
    session = boto3.session.Session(region_name=REGION)
    assert from_env(env, session).events is None
    events = from_env({**env, "EVENT_BUS_NAME": "security"}, session).events
    assert events is not None and (events.bus, events.mode) == ("security", "enforce")
