"""Reading DynamoDB attribute values (`{"S": ...}`, `{"N": ...}`) defensively.

The scan-cache item may have been written by an older version or by hand, so a missing or
mistyped attribute reads as absent, never as an exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


def text(item: Mapping[str, Any], name: str) -> str | None:
    """The string (or number) attribute `name` as text; None when absent or of another type."""
    value = item.get(name)
    if not isinstance(value, dict):
        return None
    for kind in ("S", "N"):
        if isinstance(value.get(kind), str):
            return str(value[kind])
    return None


def number(item: Mapping[str, Any], name: str) -> float:
    """The attribute `name` as a number; 0 when absent or not a number."""
    try:
        return float(text(item, name) or 0)
    except ValueError:
        return 0.0


def counts(item: Mapping[str, Any], name: str) -> dict[str, int]:
    """A map of whole numbers (`{"M": {"critical": {"N": "2"}, …}}`); empty when absent."""
    raw = item.get(name)
    values = raw.get("M", {}) if isinstance(raw, dict) else {}
    return {k: int(number(values, k)) for k in values if isinstance(k, str)}


def not_false(item: Mapping[str, Any], name: str) -> bool:
    """A boolean that is true unless stored as false (absent or malformed: true)."""
    raw = item.get(name)
    return not (isinstance(raw, dict) and raw.get("BOOL") is False)


def utc_text(epoch: float) -> str:
    """Epoch seconds as ISO-8601 UTC text: `2026-03-01T10:00:42Z`."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso(stamp: str | None) -> str:
    """Epoch seconds as ISO-8601 UTC; the text itself (cut) when it is not a time."""
    if stamp is None:
        return "at an unknown time"
    try:
        return utc_text(float(stamp))
    except (ValueError, OverflowError, OSError):
        return stamp[:40]
