"""A small validator of a value against a shape of a botocore service model.

botocore's own parameter validation checks required members, types and minimum lengths but not
the maximum lengths and list sizes Security Hub documents in prose ("Maximum length of 256",
"Maximum number of 32 items"), nor the `.*\\S.*` pattern of its NonEmptyString. This checks all
of them, recursing through structures, lists and maps, and returns every problem found as a path
and a reason.
"""

from __future__ import annotations

import re
from typing import Any

import botocore.loaders

_MAX_DOC = re.compile(r"Maximum length of (\d+)")
_ITEMS_DOC = re.compile(r"Maximum number of (\d+) items")
_PAIRS_DOC = re.compile(r"up to (\d+) key-value pairs")
_KEY_DOC = re.compile(r"key can contain up to (\d+) characters")
_VALUE_DOC = re.compile(r"value can contain up to (\d+) characters")


def load_shapes(service: str) -> dict[str, Any]:
    """The `shapes` of a service model as shipped with the installed botocore."""
    model = botocore.loaders.create_loader().load_service_model(service, "service-2")
    return dict(model["shapes"])


def validate(shapes: dict[str, Any], shape_name: str, value: Any, path: str = "$") -> list[str]:
    """Problems of `value` against `shape_name` ([] when it conforms)."""
    return _check(shapes, shape_name, value, path, "")


def _check(shapes: dict[str, Any], name: str, value: Any, path: str, doc: str) -> list[str]:  # noqa: PLR0911 - one return per shape type
    shape = shapes[name]
    kind = shape["type"]
    if kind == "structure":
        return _structure(shapes, shape, value, path)
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        problems = _bounds(shape, len(value), path, "items")
        documented = _first(_ITEMS_DOC, doc)
        if documented is not None and len(value) > documented:
            problems.append(f"{path}: {len(value)} items, documented maximum {documented}")
        for index, item in enumerate(value):
            problems += _check(shapes, shape["member"]["shape"], item, f"{path}[{index}]", "")
        return problems
    if kind == "map":
        return _map(shapes, shape, value, path, doc)
    if kind == "string":
        return _string(shape, value, path, doc)
    if kind in ("integer", "long"):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected an integer"]
    if kind in ("double", "float"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected a number"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: expected a boolean"]
    if kind == "timestamp":
        return [] if isinstance(value, str) else [f"{path}: expected a timestamp string"]
    return [f"{path}: shape type {kind} not supported by this validator"]


def _structure(shapes: dict[str, Any], shape: dict[str, Any], value: Any, path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected an object, got {type(value).__name__}"]
    members = shape.get("members", {})
    problems = [
        f"{path}: missing required {r}" for r in shape.get("required", ()) if r not in value
    ]
    for key, item in value.items():
        if key not in members:
            problems.append(f"{path}: unknown member {key}")
            continue
        member = members[key]
        problems += _check(
            shapes, member["shape"], item, f"{path}.{key}", member.get("documentation", "")
        )
    return problems


def _map(
    shapes: dict[str, Any], shape: dict[str, Any], value: Any, path: str, doc: str
) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected a map"]
    problems: list[str] = []
    pairs, key_max, value_max = (_first(r, doc) for r in (_PAIRS_DOC, _KEY_DOC, _VALUE_DOC))
    if pairs is not None and len(value) > pairs:
        problems.append(f"{path}: {len(value)} pairs, at most {pairs}")
    for key, item in value.items():
        problems += _check(shapes, shape["key"]["shape"], key, f"{path} key {key!r}", "")
        problems += _check(shapes, shape["value"]["shape"], item, f"{path}.{key}", "")
        if key_max is not None and len(key) > key_max:
            problems.append(f"{path}: key {key[:20]!r} longer than {key_max}")
        if value_max is not None and isinstance(item, str) and len(item) > value_max:
            problems.append(f"{path}.{key}: longer than {value_max}")
    return problems


def _string(shape: dict[str, Any], value: Any, path: str, doc: str) -> list[str]:
    if not isinstance(value, str):
        return [f"{path}: expected a string, got {type(value).__name__}"]
    problems = _bounds(shape, len(value), path, "characters")
    documented = _first(_MAX_DOC, doc)
    if documented is not None and len(value) > documented:
        problems.append(f"{path}: {len(value)} characters, documented maximum {documented}")
    if "enum" in shape and value not in shape["enum"]:
        problems.append(f"{path}: {value!r} not one of {shape['enum']}")
    if "pattern" in shape and not re.fullmatch(shape["pattern"], value, re.DOTALL):
        problems.append(f"{path}: {value[:40]!r} does not match {shape['pattern']}")
    return problems


def _bounds(shape: dict[str, Any], size: int, path: str, unit: str) -> list[str]:
    problems = []
    if "min" in shape and size < shape["min"]:
        problems.append(f"{path}: {size} {unit}, at least {shape['min']}")
    if "max" in shape and size > shape["max"]:
        problems.append(f"{path}: {size} {unit}, at most {shape['max']}")
    return problems


def _first(pattern: re.Pattern[str], doc: str) -> int | None:
    found = pattern.search(doc)
    return int(found.group(1)) if found else None
