"""The dispatcher's EMF lines: one per outcome and one of counters, each a valid EMF event."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dispatcher import metrics
from dispatcher import model as m
from dispatcher.batch import handle_batch
from dispatcher.dedup import Memo
from dispatcher.requeue import SqsQueue
from dispatcher.resolve import OfflineResolver
from dispatcher.scancache import ScanCacheTable
from tests.dispatcher.conftest import RecordingLauncher, image_event, settings
from tests.dispatcher.test_batch import _lambda_event, queues  # noqa: F401 - a fixture
from tests.emf import emf_problems


def test_a_batch_emits_decisions_starts_refusals_and_dead_letters(
    queues: tuple[Any, str, str],  # noqa: F811 - the imported fixture
    cache: ScanCacheTable,
) -> None:
    sqs, url, dlq = queues
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(image_event(n)))
    sqs.send_message(QueueUrl=url, MessageBody="{not json")

    class FullAfterOne(RecordingLauncher):
        def start(self, request: Any) -> str:
            if self.requests:
                self.refuse(1)
            return super().start(request)

    emitted: list[str] = []
    handle_batch(
        _lambda_event(sqs, url), settings(dead_letter_queue_url=dlq), OfflineResolver(),
        cache=cache, launcher=FullAfterOne(), queue=SqsQueue(sqs), memo=Memo(),
        clock=lambda: 1772446500.0, emit=emitted.append,
    )  # fmt: skip
    for line in emitted:
        assert emf_problems(line) == [], line
    docs = [json.loads(line) for line in emitted]
    assert {d["_aws"]["Timestamp"] for d in docs} == {1772446500000}
    by_outcome = {d["Outcome"]: d["Decisions"] for d in docs if "Outcome" in d}
    assert by_outcome == {"started": 1, "capacity": 2, "poison": 1}  # not three plain skips
    (counters,) = [d for d in docs if "BuildsStarted" in d]
    assert (counters["BuildsStarted"], counters["CapacityRefusals"], counters["DeadLettered"]) == (
        1, 2, 1,
    )  # fmt: skip
    assert counters["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [[]]
    assert {d["_aws"]["CloudWatchMetrics"][0]["Namespace"] for d in docs} == {"deployscan"}


def test_without_emit_nothing_is_printed(
    queues: tuple[Any, str, str],  # noqa: F811 - the imported fixture
    cache: ScanCacheTable,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sqs, url, dlq = queues
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(image_event(0)))
    handle_batch(
        _lambda_event(sqs, url), settings(dead_letter_queue_url=dlq), OfflineResolver(),
        cache=cache, launcher=RecordingLauncher(), queue=SqsQueue(sqs), memo=Memo(),
    )  # fmt: skip
    assert capsys.readouterr().out == ""


def test_unknown_names_never_reach_cloudwatch() -> None:
    with pytest.raises(ValueError, match="not a deployscan metric"):
        metrics.emf_line(metrics.Datum({"Typo": 1}, {}), 0)
    with pytest.raises(ValueError, match="not a deployscan metric"):
        metrics.emf_line(metrics.Datum({metrics.SCANS: 1}, {"Colour": "red"}), 0)
    # a known dimension, but not the set this metric is charted and alarmed with
    with pytest.raises(ValueError, match="not emitted with dimensions"):
        metrics.emf_line(metrics.Datum({metrics.SCANS: 1}, {metrics.SEVERITY: "high"}), 0)
    with pytest.raises(ValueError, match="not emitted with dimensions"):
        metrics.emf_line(metrics.Datum({metrics.SCANS: 1}, {}), 0)


ORIGIN = m.Origin("r-1")


@pytest.mark.parametrize(
    ("skip", "outcome"),
    [
        (m.Skip(ORIGIN, m.CAPACITY_FULL, retry=True), "capacity"),
        (m.Skip(ORIGIN, m.ALREADY_SCANNED), "duplicate"),
        (m.Skip(ORIGIN, m.SCAN_IN_PROGRESS), "duplicate"),
        (m.Skip(ORIGIN, m.DUPLICATE), "duplicate"),
        (m.Skip(ORIGIN, m.UNREADABLE_RECORD), "poison"),
        (m.Skip(ORIGIN, m.INVALID_EVENT, retry=True), "poison"),
        (m.Skip(ORIGIN, m.LAUNCH_THROTTLED, retry=True), "retry"),
        (m.Skip(ORIGIN, m.EXCLUDED_REPOSITORY), "skip"),
        (m.Skip(ORIGIN, m.CONFIGURATION_ONLY), "skip"),
    ],
)
def test_a_skip_is_counted_under_why_nothing_started(skip: m.Skip, outcome: str) -> None:
    assert metrics.outcome_of(skip) == outcome
    (decisions, counters) = metrics.dispatch_data([skip], 0)
    assert decisions == metrics.Datum({metrics.DECISIONS: 1}, {metrics.OUTCOME: outcome})
    assert counters.values[metrics.REFUSALS] == (outcome == "capacity")


def test_the_validator_rejects_broken_documents() -> None:
    good = metrics.emf_line(metrics.Datum({metrics.SCANS: 1}, {metrics.VERDICT: "error"}), 5)
    assert emf_problems(good) == []
    doc = json.loads(good)
    del doc["Verdict"]
    assert emf_problems(json.dumps(doc))
    assert emf_problems("prefix " + good)
    doc = json.loads(good)
    doc["Scans"] = "one"
    assert emf_problems(json.dumps(doc))
