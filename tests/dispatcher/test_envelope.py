"""Envelopes: one event, an array, an SQS batch; bad items are failed records, not failures."""

from __future__ import annotations

import json

import pytest

from dispatcher.envelope import MAX_BODY_BYTES, read_records
from dispatcher.errors import EventError
from tests.dispatcher.conftest import load_event, sqs_record


def test_one_event_is_one_record_named_by_its_id() -> None:
    (record,) = read_records(load_event("ecs-task-running.json"))
    assert record.record_id == "6a0f3d9e-0001"
    assert record.event is not None and record.error is None


def test_sqs_batch_records_are_named_by_message_id() -> None:
    records = read_records(load_event("sqs-batch.json"))
    assert [r.record_id for r in records] == ["m-1", "m-2", "m-3"]
    assert [r.error is None for r in records] == [True, False, True]
    assert "not JSON" in (records[1].error or "")


@pytest.mark.parametrize(
    ("record", "error"),
    [
        ("text", "not an object"),
        ({"messageId": "m", "body": 5}, "no string body"),
        ({"messageId": "m", "body": "[1, 2]"}, "not an event"),
        ({"messageId": "m", "body": " " * (MAX_BODY_BYTES + 1)}, "larger than"),
    ],
)
def test_bad_sqs_records_fail_alone(record: object, error: str) -> None:
    good = {"messageId": "ok", "body": json.dumps(load_event("ecs-task-stopped.json"))}
    bad, ok = read_records({"Records": [record, good]})
    assert error in (bad.error or "")
    assert ok.error is None


@pytest.mark.parametrize("raw", [42, "event", None, {"Records": "x"}])
def test_a_non_envelope_is_an_event_error(raw: object) -> None:
    with pytest.raises(EventError):
        read_records(raw)


def test_a_hostilely_nested_body_fails_alone() -> None:
    good = {"messageId": "ok", "body": json.dumps(load_event("ecs-task-stopped.json"))}
    bad, ok = read_records({"Records": [{"messageId": "deep", "body": "[" * 200_000}, good]})
    assert bad.event is None and "RecursionError" in (bad.error or "")
    assert ok.error is None


def test_an_sqs_record_keeps_what_settling_its_message_needs() -> None:
    record = sqs_record(load_event("ecs-task-running.json"), "m-1", sent_at=1_800_000_000.5,
                        receives=4)  # fmt: skip
    (read,) = read_records({"Records": [record]})
    assert read.delivery is not None
    assert read.delivery.body == record["body"]
    assert read.delivery.receipt_handle == "rh-m-1-4"
    assert read.delivery.queue_arn == record["eventSourceARN"]
    assert (read.delivery.receive_count, read.delivery.sent_at) == (4, 1_800_000_000.5)


def test_an_unreadable_sqs_record_keeps_its_body_for_the_dead_letter_queue() -> None:
    (read,) = read_records({"Records": [sqs_record({}, "m-2", sent_at=1.0, body="{not json")]})
    assert read.event is None and read.delivery is not None
    assert read.delivery.body == "{not json"


@pytest.mark.parametrize(
    "attributes",
    [None, "text", {}, {"ApproximateReceiveCount": "-3", "SentTimestamp": "soon"},
     {"ApproximateReceiveCount": 7, "SentTimestamp": "9" * 40}],
)  # fmt: skip
def test_missing_or_odd_sqs_attributes_fall_back_to_unknown(attributes: object) -> None:
    item = {"messageId": "m", "body": "{}", "attributes": attributes, "eventSourceARN": 5}
    (read,) = read_records({"Records": [item]})
    assert read.delivery is not None
    assert (read.delivery.receive_count, read.delivery.sent_at) == (1, None)
    assert (read.delivery.receipt_handle, read.delivery.queue_arn) == (None, None)
