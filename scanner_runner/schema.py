"""Type checks for documents read back from JSON: a dataclass's annotations are its schema.

`report.json` is read back by `deployscan report` (and may have been edited or forged), so every
value is checked against its field's type before a writer sees it.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, fields
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

T = TypeVar("T")


class SchemaError(ValueError):
    """A document's value does not have its field's type (the message names the field)."""


def build(cls: type[T], data: Any, where: str, *, built: Mapping[str, Any] | None = None) -> T:
    """An instance of dataclass `cls` from a JSON object, every field type-checked; lists become
    tuples, `built` holds fields already made (nested dataclasses). SchemaError for unknown or
    missing fields and wrong types."""
    if not isinstance(data, dict):
        raise SchemaError(f"{where} is not an object")
    built = built or {}
    hints = get_type_hints(cls)
    unknown = sorted(set(data) - set(hints))
    if unknown:
        raise SchemaError(f"{where} has an unknown field {unknown[0]!r}")
    for spec in fields(cls):  # type: ignore[arg-type]
        required = spec.default is MISSING and spec.default_factory is MISSING
        if required and spec.name not in data and spec.name not in built:
            raise SchemaError(f"{where} lacks {spec.name!r}")
    values = dict(built)
    for name, value in data.items():
        if name not in built:
            check(value, hints[name], f"{where}.{name}")
            values[name] = tuple(value) if isinstance(value, list) else value
    return cls(**values)


def check(value: Any, hint: Any, where: str) -> None:
    """Raise SchemaError unless `value` (parsed JSON) has type `hint`."""
    if not matches(value, hint):
        raise SchemaError(f"{where} is not {describe(hint)}")


def matches(value: Any, hint: Any) -> bool:
    """True when `value` has type `hint` (str, int, bool, None, tuple[X, ...], Mapping, unions)."""
    origin = get_origin(hint)
    if hint is Any:
        return True
    if hint is bool or hint is str or hint is types.NoneType:
        return type(value) is hint
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin in (typing.Union, types.UnionType):
        return any(matches(value, option) for option in get_args(hint))
    if origin is tuple:
        item = get_args(hint)[0]
        return isinstance(value, list) and all(matches(v, item) for v in value)
    if origin in (Mapping, dict):
        key, item = get_args(hint)
        return isinstance(value, dict) and all(
            matches(k, key) and matches(v, item) for k, v in value.items()
        )
    raise TypeError(f"no schema check for {hint!r}")


def describe(hint: Any) -> str:
    """`a string`, `a list of strings`, `an integer or null` …, for error messages."""
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(option) for option in get_args(hint))
    if origin is tuple:
        return "a list of " + describe(get_args(hint)[0]).removeprefix("a ").removeprefix("an ")
    if origin in (Mapping, dict):
        return "an object"
    names = {str: "a string", int: "an integer", bool: "true or false", types.NoneType: "null"}
    return names.get(hint, "a value")


def depth(value: Any) -> int:
    """How deeply lists and objects nest in `value` (a scalar is 0), counted without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level + 1)
            stack.extend(
                (v, level + 1) for v in (item.values() if isinstance(item, dict) else item)
            )
    return deepest
