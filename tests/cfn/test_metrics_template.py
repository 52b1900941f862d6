"""The dashboard and alarms in cfn/scanner.yaml chart and watch exactly the series the code emits:
each (metric name, dimension names) pair and its dimension values are derived by running the
emitting functions (dispatcher/metrics.py `dispatch_data`, scanner_runner/scanmetrics.py
`scan_data`), since CloudWatch keeps one series per dimension set and a query naming another set
sees nothing. Every emitted series is on the dashboard, and so are the scan builds CodeBuild
counts itself (a build killed or timed out before it reports emits no scan metric)."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

import pytest

from dispatcher import metrics
from dispatcher import model as m
from dispatcher.buildvars import BuildRequest
from dispatcher.imageref import ImageRef
from scanner_runner.report import STATUS_ERROR, STATUSES
from scanner_runner.scanmetrics import scan_data
from tests.cfn.conftest import resources_of
from tests.runner.conftest import error_policy, fixed_report

Series = tuple[str, frozenset[str]]  # metric name, dimension names
Values = frozenset[tuple[str, str]]  # dimension name -> value, as pairs


def emitted() -> dict[Series, set[Values]]:
    """Every series the code emits, with the dimension values each takes."""
    origin = m.Origin("r-1")
    request = BuildRequest("deployscan-scan", ImageRef.parse("shop/api:1"), None, None, None,
                           None, "manual", None)  # fmt: skip
    build = m.Build(origin, "key", "shop/api:1", request)
    reasons = m.POISON_REASONS | m.CAPACITY_REASONS | m.DEDUP_REASONS
    reasons |= {m.LAUNCH_THROTTLED, m.EXCLUDED_REPOSITORY}
    skips = [m.Skip(origin, r, retry=retry) for r in sorted(reasons) for retry in (False, True)]
    data = metrics.dispatch_data([build, m.Started(build, "b-1"), *skips], dead_lettered=1)
    for status in STATUSES:
        failed = status == STATUS_ERROR
        report = fixed_report(status=status, **({"policy": error_policy()} if failed else {}))
        data += scan_data(report, status)
    series: dict[Series, set[Values]] = defaultdict(set)
    for datum in data:
        for name in datum.values:
            series[name, frozenset(datum.dimensions)].add(frozenset(datum.dimensions.items()))
    return dict(series)


EMITTED = emitted()


def dashboard(scanner: dict[str, Any], lambda_tier: bool) -> dict[str, Any]:
    """The dashboard body with UseLambdaTier true or false; `${…}` left for CloudFormation stay
    as they are (inside JSON strings)."""
    (resource,) = resources_of(scanner, "AWS::CloudWatch::Dashboard").values()
    sub = resource["Properties"]["DashboardBody"]["Fn::Sub"]
    text, local = (sub, {}) if isinstance(sub, str) else sub
    for name, value in local.items():
        condition, yes, no = value["Fn::If"]
        assert condition == "UseLambdaTier", name
        chosen = yes if lambda_tier else no
        chosen = chosen["Fn::Sub"] if isinstance(chosen, dict) else chosen
        text = text.replace("${" + name + "}", chosen)
    assert not re.search(r"\$\{(?!AWS::|ScanProject\}|LambdaScanProject\}|DeadLetterQueue\.)", text)
    body: dict[str, Any] = json.loads(text)
    return body


def dashboard_rows(scanner: dict[str, Any], lambda_tier: bool = True) -> list[list[str]]:
    """The [namespace, name, dimension, value, …] of every metric on the dashboard."""
    rows = []
    for widget in dashboard(scanner, lambda_tier)["widgets"]:
        for row in widget["properties"]["metrics"]:
            rows.append([p for p in row if isinstance(p, str)])
    return rows


def dashboard_metrics(scanner: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    """(name, dimensions) of every `deployscan` metric on the dashboard."""
    return [
        (row[1], dict(zip(row[2::2], row[3::2], strict=True)))
        for row in dashboard_rows(scanner)
        if row[0] == metrics.NAMESPACE
    ]


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


def test_the_code_emits_each_metric_with_its_one_dimension_set() -> None:
    assert {name for name, _ in EMITTED} == metrics.METRIC_NAMES
    assert set(EMITTED) == set(metrics.SERIES.items())
    decisions = EMITTED[metrics.DECISIONS, frozenset({metrics.OUTCOME})]
    outcomes = {dict(values)[metrics.OUTCOME] for values in decisions}
    assert outcomes == set(metrics.OUTCOMES)


def test_dashboard_and_alarms_query_only_emitted_series(scanner: dict[str, Any]) -> None:
    used = dashboard_metrics(scanner) + alarm_metrics(scanner)
    assert used
    for name, dims in used:
        series = (name, frozenset(dims))
        assert series in EMITTED, f"{name} is not emitted with dimensions {sorted(dims)}"
        assert frozenset(dims.items()) in EMITTED[series], (name, dims)


def test_every_emitted_series_and_value_is_on_the_dashboard(scanner: dict[str, Any]) -> None:
    shown = {(name, frozenset(dims.items())) for name, dims in dashboard_metrics(scanner)}
    every = {(name, values) for (name, _), all_values in EMITTED.items() for values in all_values}
    assert every - shown == set()


@pytest.mark.parametrize("lambda_tier", [False, True])
def test_the_dashboard_shows_codebuild_failed_builds_of_each_scan_project(
    scanner: dict[str, Any], lambda_tier: bool
) -> None:
    rows = [r for r in dashboard_rows(scanner, lambda_tier) if r[0] == "AWS/CodeBuild"]
    projects = ["${ScanProject}", *(["${LambdaScanProject}"] if lambda_tier else [])]
    for project in projects:
        assert ["AWS/CodeBuild", "FailedBuilds", "ProjectName", project] in rows
        assert ["AWS/CodeBuild", "Builds", "ProjectName", project] in rows
    assert {r[3] for r in rows} == set(projects)
    assert {r[1] for r in rows} <= {"Builds", "FailedBuilds"}  # names AWS/CodeBuild publishes


def test_the_alarms_watch_error_verdicts_and_dead_letters(scanner: dict[str, Any]) -> None:
    watched = alarm_metrics(scanner)
    assert (metrics.SCANS, {metrics.VERDICT: "error"}) in watched
    assert (metrics.DEAD_LETTERED, {}) in watched
