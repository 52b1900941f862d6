"""Reading what arrives: one EventBridge event, a JSON array of events, or an SQS batch.

Each item becomes a `Record`; an item that cannot be read is a `Record` with an error, so one bad
SQS message is one failed item and never a failed batch. An SQS record keeps its `Delivery` (body,
receipt handle, queue, receive count, sent time): what settling the message afterwards needs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from dispatcher.errors import EventError

MAX_BODY_BYTES = 1024 * 1024  # SQS's own maximum message size


@dataclass(frozen=True)
class Delivery:
    """How SQS delivered a record: what it takes to delay the message or dead-letter it."""

    body: str
    receipt_handle: str | None = None
    queue_arn: str | None = None
    receive_count: int = 1
    sent_at: float | None = None  # epoch seconds when SQS stored the message (SentTimestamp)


@dataclass(frozen=True)
class Record:
    """One unit of retry: an SQS message (id = messageId) or one event of a direct input."""

    record_id: str
    event: dict[str, Any] | None
    error: str | None = None
    delivery: Delivery | None = None


def read_records(raw: object) -> list[Record]:
    """Split any supported envelope into records; raise `EventError` only for a non-envelope."""
    if isinstance(raw, list):
        return _unique([_direct(item, index) for index, item in enumerate(raw)])
    if not isinstance(raw, dict):
        raise EventError(f"input is a JSON {type(raw).__name__}, not an event, array or batch")
    if "Records" in raw and "detail-type" not in raw:
        records = raw["Records"]
        if not isinstance(records, list):
            raise EventError("'Records' is not a list")
        return [_sqs(item, index) for index, item in enumerate(records)]
    return [_direct(raw, 0)]


def _unique(records: list[Record]) -> list[Record]:
    """Give repeated event ids (the same event sent twice) a positional suffix."""
    seen: set[str] = set()
    out = []
    for index, record in enumerate(records):
        unique = record
        if record.record_id in seen:
            unique = replace(record, record_id=f"{record.record_id}#{index}")
        seen.add(unique.record_id)
        out.append(unique)
    return out


def _direct(item: object, index: int) -> Record:
    if not isinstance(item, dict):
        return Record(f"#{index}", None, f"event is a JSON {type(item).__name__}, not an object")
    event_id = item.get("id")
    record_id = event_id if isinstance(event_id, str) and event_id.isprintable() else f"#{index}"
    return Record(record_id[:128], item)


def _sqs(item: object, index: int) -> Record:
    if not isinstance(item, dict):
        return Record(f"#{index}", None, "SQS record is not an object")
    message_id = item.get("messageId")
    record_id = message_id if isinstance(message_id, str) and message_id else f"#{index}"
    body = item.get("body")
    if not isinstance(body, str):
        return Record(record_id, None, "SQS record has no string body")
    delivery = _delivery(item, body)
    if len(body) > MAX_BODY_BYTES:
        return Record(record_id, None, "SQS body larger than 1 MiB", delivery)
    try:
        event = json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: hostile nesting depth
        error = f"SQS body is not JSON: {type(exc).__name__}: {exc}"[:300]
        return Record(record_id, None, error, delivery)
    if not isinstance(event, dict):
        error = f"SQS body is a JSON {type(event).__name__}, not an event"
        return Record(record_id, None, error, delivery)
    return Record(record_id, event, delivery=delivery)


def _delivery(item: dict[str, Any], body: str) -> Delivery:
    attributes = item.get("attributes")
    attributes = attributes if isinstance(attributes, dict) else {}
    handle, arn = item.get("receiptHandle"), item.get("eventSourceARN")
    sent_ms = _whole(attributes.get("SentTimestamp"))
    return Delivery(
        body=body,
        receipt_handle=handle if isinstance(handle, str) and handle else None,
        queue_arn=arn if isinstance(arn, str) and arn.startswith("arn:") else None,
        receive_count=_whole(attributes.get("ApproximateReceiveCount")) or 1,
        sent_at=sent_ms / 1000 if sent_ms else None,
    )


def _whole(value: object) -> int | None:
    """A non-negative whole number sent as a string, as SQS attributes are."""
    if isinstance(value, str) and value.isdigit() and len(value) <= 16:
        return int(value)
    return None
