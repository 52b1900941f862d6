"""Build capacity: a refusal at the concurrent-build limit waits (it is not a failure to count),
a warm Lambda stops asking for a while, and younger messages wait behind older ones in line."""

from __future__ import annotations

from typing import Any

from dispatcher import model as m
from dispatcher.core import DispatchResult, dispatch
from dispatcher.dedup import CAPACITY_HOLD_SECONDS, LINE_SECONDS, LINE_SLACK_SECONDS, Memo
from dispatcher.resolve import OfflineResolver
from dispatcher.scancache import ScanCacheTable
from tests.dispatcher.conftest import (
    RecordingLauncher,
    image_event,
    settings,
    sqs_record,
    table_items,
)

T0 = 1_800_000_000.0
PROJECT = settings().project_name


def _batch(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def _run(raw: Any, cache: ScanCacheTable, launcher: Any, memo: Memo, now: float) -> DispatchResult:
    return dispatch(
        raw, settings(), OfflineResolver(), cache=cache, launcher=launcher, clock=lambda: now,
        memo=memo,
    )  # fmt: skip


def _reasons(result: DispatchResult) -> list[str | None]:
    return [m.decision_line(o)["reason"] for o in result.outcomes]


def test_a_capacity_refusal_waits_and_the_batch_stops_asking(
    cache: ScanCacheTable, dynamodb: Any
) -> None:
    launcher, memo = RecordingLauncher(), Memo()
    launcher.refuse(1)
    batch = _batch(*(sqs_record(image_event(n), f"m-{n}", sent_at=T0 + n) for n in range(3)))
    result = _run(batch, cache, launcher, memo, T0 + 10)
    assert _reasons(result) == [m.CAPACITY_FULL] * 3
    assert all(o.retry for o in result.outcomes)  # type: ignore[union-attr]
    assert launcher.attempts == 1  # one refusal: the rest of the batch did not ask again
    assert "AccountLimitExceededException" in result.outcomes[0].detail  # type: ignore[union-attr]
    assert [k for k in table_items(dynamodb) if k.startswith("digest#")] == []  # no lease kept


def test_the_hold_lasts_capacity_hold_seconds_in_one_process(cache: ScanCacheTable) -> None:
    launcher, memo = RecordingLauncher(), Memo()
    launcher.refuse(1)
    first = _batch(sqs_record(image_event(1), "m-1", sent_at=T0))
    _run(first, cache, launcher, memo, T0 + 10)
    again = _batch(sqs_record(image_event(1), "m-1", sent_at=T0, receives=2))
    assert _reasons(_run(again, cache, launcher, memo, T0 + 10 + CAPACITY_HOLD_SECONDS / 2)) == [
        m.CAPACITY_FULL
    ]
    assert launcher.attempts == 1
    later = _run(again, cache, launcher, memo, T0 + 11 + CAPACITY_HOLD_SECONDS)
    assert _reasons(later) == [m.STARTED]
    # Another warm Lambda does not share the hold: it asks StartBuild itself.
    launcher.refuse(1)
    other = _batch(sqs_record(image_event(2), "m-2", sent_at=T0))
    _run(other, cache, launcher, Memo(), T0 + 12)
    assert launcher.attempts == 3


def test_younger_messages_wait_behind_an_older_generation(cache: ScanCacheTable) -> None:
    launcher = RecordingLauncher()
    launcher.refuse(1)
    _run(_batch(sqs_record(image_event(1), "old", sent_at=T0)), cache, launcher, Memo(), T0 + 60)
    assert cache.line_end(PROJECT, T0 + 60) == T0 + LINE_SLACK_SECONDS
    # A later wave, in another warm Lambda: capacity may have freed, but the old one goes first.
    young = sqs_record(image_event(2), "young", sent_at=T0 + LINE_SLACK_SECONDS + 1)
    result = _run(_batch(young), cache, launcher, Memo(), T0 + 90)
    assert _reasons(result) == [m.CAPACITY_FULL]
    assert "older deploys" in result.outcomes[0].detail  # type: ignore[union-attr]
    assert launcher.attempts == 1
    # The old one's generation (sent within the slack) may ask; the old one starts.
    peer = sqs_record(image_event(3), "peer", sent_at=T0 + LINE_SLACK_SECONDS - 1)
    assert _reasons(_run(_batch(peer), cache, launcher, Memo(), T0 + 95)) == [m.STARTED]


def test_a_generation_that_stopped_waiting_releases_the_line(cache: ScanCacheTable) -> None:
    launcher = RecordingLauncher()
    launcher.refuse(1)
    _run(_batch(sqs_record(image_event(1), "old", sent_at=T0)), cache, launcher, Memo(), T0 + 60)
    young = _batch(sqs_record(image_event(2), "young", sent_at=T0 + 3600))
    after = T0 + 60 + LINE_SECONDS + 1  # nobody of the old generation was refused since
    assert cache.line_end(PROJECT, after) is None
    assert _reasons(_run(young, cache, launcher, Memo(), after)) == [m.STARTED]


def test_an_older_refusal_takes_the_head_of_the_line(cache: ScanCacheTable) -> None:
    def join(sent: float, now: float) -> None:
        cache.wait_in_line(PROJECT, T0 + sent, T0 + now, slack=300, seconds=180)

    join(600, 700)
    assert cache.line_end(PROJECT, T0 + 700) == T0 + 900
    join(0, 710)
    assert cache.line_end(PROJECT, T0 + 710) == T0 + 300
    # A younger refusal does not move the head; one of its generation keeps it alive.
    join(2000, 720)
    assert cache.line_end(PROJECT, T0 + 720) == T0 + 300
    join(100, 850)
    assert cache.line_end(PROJECT, T0 + 1000) == T0 + 300  # renewed at 850: it holds until 1030
    assert cache.line_end(PROJECT, T0 + 1031) is None


def test_each_scan_project_has_its_own_limit_hold_and_line(cache: ScanCacheTable) -> None:
    cache.wait_in_line("deployscan-scan-lambda", T0, T0 + 10, slack=300, seconds=180)
    memo = Memo()
    memo.hold_capacity("deployscan-scan-lambda", T0 + 10)
    launcher = RecordingLauncher()
    young = _batch(sqs_record(image_event(5), "young", sent_at=T0 + 3600))
    assert _reasons(_run(young, cache, launcher, memo, T0 + 20)) == [m.STARTED]
    assert cache.line_end(PROJECT, T0 + 20) is None


def test_direct_events_have_no_place_in_line(cache: ScanCacheTable) -> None:
    """`deployscan dispatch` and direct invocations carry no SQS time: they just ask."""
    cache.wait_in_line(PROJECT, T0, T0 + 10, slack=300, seconds=180)
    launcher = RecordingLauncher()
    result = _run(image_event(9), cache, launcher, Memo(), T0 + 20)
    assert _reasons(result) == [m.STARTED]
