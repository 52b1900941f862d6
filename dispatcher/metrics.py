"""CloudWatch metrics in the embedded metric format (EMF): the one list of names, and the lines.

Every metric deployscan emits is named here, under one namespace; `cfn/scanner.yaml`'s dashboard
and alarms query exactly the series emitted, and a test checks that they do. An EMF line is a
JSON object printed alone on one line (no prefix) to stdout; CloudWatch Logs turns it into
metrics (Lambda logs, and CodeBuild build logs, which forward each output line as one log event).

Dimensions: `Outcome` (a dispatcher decision, OUTCOMES), `Verdict` (passed, failed, error),
`Severity` (critical, high, medium, low, info). Each metric is emitted with exactly one set of
dimension names, SERIES (a metric without a dimension with the empty set, so it is one
account-wide series): CloudWatch keeps one series per set, and the dashboard and alarms must name
the same set to see the data.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dispatcher import model as m

NAMESPACE = "deployscan"

# The dispatcher (Lambda)
DECISIONS = "Decisions"  # by Outcome
BUILDS_STARTED = "BuildsStarted"
REFUSALS = "CapacityRefusals"  # StartBuild refused for capacity: the record waits
DEAD_LETTERED = "DeadLettered"  # records sent to the dead-letter queue
# The scan build (CodeBuild)
SCANS = "Scans"  # by Verdict
SCAN_DURATION = "ScanDuration"  # seconds, by Verdict
FINDINGS = "Findings"  # by Severity

UNITS = {
    DECISIONS: "Count",
    BUILDS_STARTED: "Count",
    REFUSALS: "Count",
    DEAD_LETTERED: "Count",
    SCANS: "Count",
    SCAN_DURATION: "Seconds",
    FINDINGS: "Count",
}
METRIC_NAMES = frozenset(UNITS)
OUTCOME, VERDICT, SEVERITY = "Outcome", "Verdict", "Severity"
DIMENSIONS = frozenset({OUTCOME, VERDICT, SEVERITY})
SERIES: Mapping[str, frozenset[str]] = {
    DECISIONS: frozenset({OUTCOME}),
    BUILDS_STARTED: frozenset(),
    REFUSALS: frozenset(),
    DEAD_LETTERED: frozenset(),
    SCANS: frozenset({VERDICT}),
    SCAN_DURATION: frozenset({VERDICT}),
    FINDINGS: frozenset({SEVERITY}),
}
# Decision outcomes (the Outcome dimension): started (or build, in a dry run), else why nothing
# was started: refused for capacity (the record waits), a duplicate (already scanned, being
# scanned, or twice in one batch), poison (to the dead-letter queue), retry (a failure the record
# comes back for), skip (nothing to scan: filtered, excluded, unsupported).
STARTED, BUILD, CAPACITY, DUPLICATE, POISON, RETRY, SKIP = (
    "started", "build", "capacity", "duplicate", "poison", "retry", "skip",
)  # fmt: skip
OUTCOMES = (STARTED, BUILD, CAPACITY, DUPLICATE, POISON, RETRY, SKIP)


@dataclass(frozen=True)
class Datum:
    """Values of some metrics under one set of dimension values."""

    values: Mapping[str, float]
    dimensions: Mapping[str, str]


def emf_line(datum: Datum, timestamp_ms: int) -> str:
    """One EMF document on one line."""
    unknown = set(datum.values) - METRIC_NAMES or set(datum.dimensions) - DIMENSIONS
    if unknown:
        raise ValueError(f"not a deployscan metric or dimension: {sorted(unknown)}")
    other = sorted(n for n in datum.values if SERIES[n] != set(datum.dimensions))
    if other:
        raise ValueError(f"{other} not emitted with dimensions {sorted(datum.dimensions)}")
    document: dict[str, object] = {
        "_aws": {
            "Timestamp": int(timestamp_ms),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [sorted(datum.dimensions)],
                    "Metrics": [{"Name": n, "Unit": UNITS[n]} for n in datum.values],
                }
            ],
        },
        **{k: str(v)[:1024] for k, v in datum.dimensions.items()},
        **{k: float(v) if isinstance(v, float) else int(v) for k, v in datum.values.items()},
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=True)


def lines(data: Iterable[Datum], timestamp_ms: int) -> list[str]:
    """EMF lines for the data that carry any value."""
    return [emf_line(d, timestamp_ms) for d in data if d.values]


def dispatch_data(outcomes: Iterable[m.Result], dead_lettered: int) -> list[Datum]:
    """The dispatcher's metrics for one invocation: decisions by outcome, builds started,
    capacity refusals and records sent to the dead-letter queue."""
    by_outcome = Counter(outcome_of(o) for o in outcomes)
    data = [Datum({DECISIONS: n}, {OUTCOME: name}) for name, n in sorted(by_outcome.items())]
    counters = {BUILDS_STARTED: by_outcome[STARTED], REFUSALS: by_outcome[CAPACITY]}
    data.append(Datum({**counters, DEAD_LETTERED: dead_lettered}, {}))
    return data


def outcome_of(result: m.Result) -> str:
    """One decision's Outcome (OUTCOMES)."""
    if isinstance(result, m.Started):
        return STARTED
    if isinstance(result, m.Build):
        return BUILD
    if result.reason in m.POISON_REASONS:
        return POISON
    if result.reason in m.CAPACITY_REASONS:
        return CAPACITY
    if result.reason in m.DEDUP_REASONS:
        return DUPLICATE
    return RETRY if result.retry else SKIP
