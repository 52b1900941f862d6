"""Reading what arrives: one EventBridge event, a JSON array of events, or an SQS batch.

Each item becomes a `Record`; an item that cannot be read is a `Record` with an error, so one bad
SQS message is one failed item and never a failed batch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dispatcher.errors import EventError

MAX_BODY_BYTES = 1024 * 1024  # SQS's own maximum message size


@dataclass(frozen=True)
class Record:
    """One unit of retry: an SQS message (id = messageId) or one event of a direct input."""

    record_id: str
    event: dict[str, Any] | None
    error: str | None = None


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
            unique = Record(f"{record.record_id}#{index}", record.event, record.error)
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
    if len(body) > MAX_BODY_BYTES:
        return Record(record_id, None, "SQS body larger than 1 MiB")
    try:
        event = json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: hostile nesting depth
        return Record(record_id, None, f"SQS body is not JSON: {type(exc).__name__}: {exc}"[:300])
    if not isinstance(event, dict):
        return Record(record_id, None, f"SQS body is a JSON {type(event).__name__}, not an event")
    return Record(record_id, event)
