"""Settling failed SQS messages: poison to the DLQ at once, everything else waits on a time budget
paced so SQS's redrive never takes a waiting message."""

from __future__ import annotations

import pytest

from dispatcher import model as m
from dispatcher.core import RecordOutcome
from dispatcher.envelope import Delivery, Record
from dispatcher.retry import (
    BASE_WAIT_SECONDS,
    JITTER,
    MAX_VISIBILITY_SECONDS,
    QUEUE_MAX_RECEIVES,
    RECEIVE_BUDGET,
    WAIT_EXPIRED,
    DeadLetter,
    Retry,
    Wait,
    settle,
    wait_seconds,
)

NOW = 1_800_000_000.0
DAY = 24 * 3600
ORIGIN = m.Origin("m-1")


def low(a: float, b: float) -> float:
    """The jitter at its lowest: every wait as short as the policy allows."""
    return a


def _record(sent_at: float | None = NOW - 60, receives: int = 1, delivery: bool = True) -> Record:
    found = Delivery("{}", "rh", "arn:aws:sqs:eu-west-1:123456789012:q", receives, sent_at)
    return Record("m-1", {}, delivery=found if delivery else None)


def _outcome(*skips: m.Skip) -> RecordOutcome:
    return RecordOutcome("m-1", skips)


def _skip(reason: str, retry: bool = True, detail: str = "") -> m.Skip:
    return m.Skip(ORIGIN, reason, detail=detail, retry=retry)


def test_finished_records_need_nothing() -> None:
    done = _outcome(_skip(m.ALREADY_SCANNED, retry=False))
    assert settle([(_record(), done)], NOW, DAY, low) == []


@pytest.mark.parametrize("reason", sorted(m.POISON_REASONS))
def test_poison_goes_to_the_dead_letter_queue_at_once(reason: str) -> None:
    (settled,) = settle([(_record(), _outcome(_skip(reason, detail="not JSON")))], NOW, DAY, low)
    assert isinstance(settled, DeadLetter)
    assert (settled.reason, settled.detail) == (reason, "not JSON")


def test_a_capacity_refusal_waits_a_minute_or_two() -> None:
    outcome = _outcome(_skip(m.CAPACITY_FULL))
    (settled,) = settle([(_record(), outcome)], NOW, 3600, lambda a, b: b)
    assert isinstance(settled, Wait) and settled.reason == m.CAPACITY_FULL
    assert settled.seconds == round(BASE_WAIT_SECONDS * (1 + JITTER))
    assert settled.delivery.receipt_handle == "rh"


def test_capacity_names_the_wait_when_a_record_also_failed_otherwise() -> None:
    outcome = _outcome(_skip(m.DEDUP_UNAVAILABLE), _skip(m.CAPACITY_FULL))
    (settled,) = settle([(_record(), outcome)], NOW, DAY, low)
    assert isinstance(settled, Wait) and settled.reason == m.CAPACITY_FULL


@pytest.mark.parametrize("reason", [m.LAUNCH_THROTTLED, m.LAUNCH_FAILED, m.LOOKUP_FAILED])
def test_transient_failures_wait_on_the_same_budget(reason: str) -> None:
    (settled,) = settle([(_record(), _outcome(_skip(reason)))], NOW, DAY, low)
    assert isinstance(settled, Wait) and settled.reason == reason


def test_a_message_older_than_the_budget_goes_to_the_dead_letter_queue() -> None:
    old = _record(sent_at=NOW - DAY - 1, receives=700)
    (settled,) = settle([(old, _outcome(_skip(m.CAPACITY_FULL)))], NOW, DAY, low)
    assert isinstance(settled, DeadLetter) and settled.reason == WAIT_EXPIRED
    assert m.CAPACITY_FULL in settled.detail


def test_without_sqs_metadata_the_message_is_left_to_the_queue() -> None:
    outcome = _outcome(_skip(m.UNREADABLE_RECORD))
    assert settle([(_record(delivery=False), outcome)], NOW, DAY, low) == [
        Retry("m-1", m.UNREADABLE_RECORD)
    ]


@pytest.mark.parametrize("hours", [1, 24, 96])
@pytest.mark.parametrize("already", [1, 300, 890])
def test_waits_never_use_up_the_redrive_budget(hours: int, already: int) -> None:
    """However often the message was received before (crashes, failed SQS calls), waiting out
    the whole budget at the shortest waits stays under the queue's maxReceiveCount."""
    age, receives = 0.0, already
    while age < hours * 3600:
        wait = wait_seconds(age, receives, hours * 3600, low)
        assert 0 < wait <= MAX_VISIBILITY_SECONDS
        age, receives = age + wait, receives + 1
    assert receives < QUEUE_MAX_RECEIVES
    if already == 1:
        assert receives <= RECEIVE_BUDGET


def test_a_fresh_message_with_a_long_budget_is_paced_beyond_the_base_wait() -> None:
    assert wait_seconds(0, 1, DAY, low) == round(DAY / (RECEIVE_BUDGET - 1))
    assert wait_seconds(0, 1, 3600, low) == BASE_WAIT_SECONDS
