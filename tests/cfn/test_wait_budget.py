"""The event queue's budgets match the dispatcher's: a deploy event waiting for build capacity is
kept (retention), never redriven by receive count (maxReceiveCount), and the dispatcher may
delay it and dead-letter poison itself (IAM)."""

from __future__ import annotations

from typing import Any

from dispatcher.retry import QUEUE_MAX_RECEIVES, RECEIVE_BUDGET
from dispatcher.settings import DEFAULT_MAX_WAIT_HOURS
from dispatcher.settings import Settings as DispatcherSettings


def _queue(scanner: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(scanner["Resources"][name]["Properties"])


def test_the_redrive_budget_is_the_one_the_dispatcher_paces_for(scanner: dict[str, Any]) -> None:
    redrive = _queue(scanner, "EventQueue")["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    assert redrive["maxReceiveCount"] == QUEUE_MAX_RECEIVES == 1000  # SQS's maximum
    assert RECEIVE_BUDGET < QUEUE_MAX_RECEIVES


def test_the_queue_keeps_an_event_longer_than_it_may_wait(scanner: dict[str, Any]) -> None:
    hours = scanner["Parameters"]["MaxWaitHours"]
    retention = _queue(scanner, "EventQueue")["MessageRetentionPeriod"]
    assert retention >= int(hours["MaxValue"]) * 3600 + 24 * 3600  # a day to spare
    # A redriven message keeps its enqueue time: the DLQ must keep messages longer.
    assert _queue(scanner, "DeadLetterQueue")["MessageRetentionPeriod"] > retention
    assert int(hours["MinValue"]) <= int(hours["Default"]) <= int(hours["MaxValue"])


def test_the_wait_default_is_the_same_everywhere(scanner: dict[str, Any]) -> None:
    default = int(scanner["Parameters"]["MaxWaitHours"]["Default"])
    assert default == DEFAULT_MAX_WAIT_HOURS
    assert DispatcherSettings.from_env({}, require_execution=False).max_wait_hours == default
    env = scanner["Resources"]["Dispatcher"]["Properties"]["Environment"]["Variables"]
    assert env["MAX_WAIT_HOURS"] == {"Ref": "MaxWaitHours"}
    assert env["DEAD_LETTER_QUEUE_URL"] == {"Ref": "DeadLetterQueue"}


def test_the_dispatcher_may_delay_only_its_queue_and_write_only_the_dlq(
    scanner: dict[str, Any],
) -> None:
    (policy,) = scanner["Resources"]["DispatcherRole"]["Properties"]["Policies"]
    grants: dict[str, list[Any]] = {}
    for statement in policy["PolicyDocument"]["Statement"]:
        actions = statement["Action"]
        for action in actions if isinstance(actions, list) else [actions]:
            grants.setdefault(action, []).append(statement["Resource"])
    assert grants["sqs:ChangeMessageVisibility"] == [{"Fn::GetAtt": ["EventQueue", "Arn"]}]
    # The DLQ; and the event queue, where the sweep fans out (dispatcher/sweep/units.py).
    assert grants["sqs:SendMessage"] == [
        {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]},
        {"Fn::GetAtt": ["EventQueue", "Arn"]},
    ]
