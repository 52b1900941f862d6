"""A validator of CloudWatch embedded metric format documents (the EMF specification's rules)."""

from __future__ import annotations

import json
from typing import Any

UNITS = frozenset(
    [
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    ]
)


def emf_problems(line: str) -> list[str]:
    """Why `line` is not one valid EMF log event ([] when it is)."""
    if "\n" in line or line != line.strip():
        return ["an EMF event is the JSON object alone, on one line"]
    try:
        doc = json.loads(line)
    except json.JSONDecodeError as exc:
        return [f"not JSON: {exc}"]
    if not isinstance(doc, dict) or not isinstance(doc.get("_aws"), dict):
        return ["no _aws metadata object"]
    meta = doc["_aws"]
    problems = []
    if not isinstance(meta.get("Timestamp"), int) or meta["Timestamp"] < 0:
        problems.append("_aws.Timestamp must be a non-negative integer (ms since the epoch)")
    directives = meta.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        return [*problems, "_aws.CloudWatchMetrics must be a non-empty list"]
    for directive in directives:
        problems += _directive(doc, directive)
    if len(line.encode()) > 1024 * 1024:
        problems.append("over 1 MB")
    return problems


def _directive(doc: dict[str, Any], directive: Any) -> list[str]:
    problems = []
    if not isinstance(directive.get("Namespace"), str) or not directive["Namespace"]:
        problems.append("Namespace must be a non-empty string")
    dimension_sets = directive.get("Dimensions")
    if not isinstance(dimension_sets, list):
        return [*problems, "Dimensions must be a list of dimension sets"]
    for dims in dimension_sets:
        if not isinstance(dims, list) or len(dims) > 30:
            problems.append("a dimension set is a list of at most 30 names")
            continue
        for name in dims:
            value = doc.get(name)
            if not isinstance(value, str) or not 0 < len(value) <= 1024:
                problems.append(f"dimension {name} needs a root string member of 1..1024 chars")
    definitions = directive.get("Metrics")
    if not isinstance(definitions, list) or not 0 < len(definitions) <= 100:
        return [*problems, "Metrics must hold 1..100 definitions"]
    for definition in definitions:
        name = definition.get("Name")
        if not isinstance(name, str) or not name:
            problems.append("a metric definition needs a Name")
            continue
        if definition.get("Unit", "None") not in UNITS:
            problems.append(f"{name}: unknown unit {definition.get('Unit')}")
        value = doc.get(name)
        values = value if isinstance(value, list) else [value]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        if not numeric or not 0 < len(values) <= 100:
            problems.append(f"{name}: the root member must be a number or 1..100 numbers")
    return problems
