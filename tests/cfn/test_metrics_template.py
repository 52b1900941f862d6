"""The dashboard and alarms in cfn/scanner.yaml use only metrics and dimensions the code emits
(dispatcher/metrics.py is the one list), and every emitted metric is on the dashboard."""

from __future__ import annotations

import json
from typing import Any

from dispatcher import metrics
from dispatcher.model import CAPACITY_FULL
from scanner_runner.report import SEVERITIES, STATUSES
from tests.cfn.conftest import resources_of

DIMENSION_VALUES = {
    metrics.OUTCOME: {"started", "build", "skip"},
    metrics.VERDICT: set(STATUSES),
    metrics.SEVERITY: set(SEVERITIES),
}


def dashboard_metrics(scanner: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    """(name, dimensions) of every `deployscan` metric on the dashboard."""
    (dashboard,) = resources_of(scanner, "AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    used = []
    for widget in json.loads(body)["widgets"]:
        for row in widget["properties"]["metrics"]:
            parts = [p for p in row if isinstance(p, str)]
            if parts[0] == metrics.NAMESPACE:
                used.append((parts[1], dict(zip(parts[2::2], parts[3::2], strict=True))))
    return used


def alarm_metrics(scanner: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    """(name, dimensions) of every `deployscan` metric an alarm watches."""
    used = []
    for alarm in resources_of(scanner, "AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        stats = [m["MetricStat"]["Metric"] for m in props.get("Metrics", []) if "MetricStat" in m]
        if "MetricName" in props:
            stats.append(props)
        for stat in stats:
            if stat.get("Namespace") == metrics.NAMESPACE:
                dims = {d["Name"]: d["Value"] for d in stat.get("Dimensions", [])}
                used.append((stat["MetricName"], dims))
    return used


def test_dashboard_and_alarms_reference_only_emitted_metrics(scanner: dict[str, Any]) -> None:
    used = dashboard_metrics(scanner) + alarm_metrics(scanner)
    assert used
    for name, dims in used:
        assert name in metrics.METRIC_NAMES, name
        for key, value in dims.items():
            assert key in metrics.DIMENSIONS, key
            assert value in DIMENSION_VALUES[key], (name, key, value)


def test_every_emitted_metric_is_on_the_dashboard(scanner: dict[str, Any]) -> None:
    assert {name for name, _ in dashboard_metrics(scanner)} == metrics.METRIC_NAMES


def test_the_alarms_watch_error_verdicts_and_dead_letters(scanner: dict[str, Any]) -> None:
    watched = alarm_metrics(scanner)
    assert (metrics.SCANS, {metrics.VERDICT: "error"}) in watched
    assert (metrics.DEAD_LETTERED, {}) in watched
    assert CAPACITY_FULL  # refusals are counted from this reason (dispatcher/metrics.py)
