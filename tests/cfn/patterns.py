"""A small EventBridge event-pattern matcher: enough of the documented rules to test our rules.

Supported: exact values (strings, numbers, booleans, null), `prefix`, `exists`, `anything-but`
(value or list), nested objects, and array event values (match when any element matches).
Anything else raises, so a pattern using an operator this matcher does not know fails the test
instead of silently matching.
"""

from __future__ import annotations

from typing import Any

_MISSING = object()


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """True when the event satisfies every field of the pattern."""
    for key, expected in pattern.items():
        value = event.get(key, _MISSING) if isinstance(event, dict) else _MISSING
        if isinstance(expected, dict):
            if value is _MISSING or not isinstance(value, dict):
                return False
            if not matches(expected, value):
                return False
        elif isinstance(expected, list):
            if not _field_matches(expected, value):
                return False
        else:
            raise ValueError(f"pattern field {key!r} must be an object or a list")
    return True


def _field_matches(conditions: list[Any], value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(_condition(c, v, value is _MISSING) for c in conditions for v in values)


def _condition(condition: Any, value: Any, missing: bool) -> bool:
    if isinstance(condition, dict):
        if len(condition) != 1:
            raise ValueError(f"one operator per condition: {condition}")
        ((op, arg),) = condition.items()
        if op == "exists":
            return bool(arg) != missing
        if missing:
            return False
        if op == "prefix":
            return isinstance(value, str) and value.startswith(arg)
        if op == "anything-but":
            excluded = arg if isinstance(arg, list) else [arg]
            return value not in excluded
        raise ValueError(f"unsupported pattern operator {op!r}")
    return not missing and value == condition and type(value) is type(condition)
