"""ErrorVerdictRateAlarm fires when the hour's scans are mostly errors, also when no scan passed
or failed: a verdict without scans has no datapoint, so each count is FILLed with 0 first."""

from __future__ import annotations

from typing import Any

import pytest

from dispatcher import metrics
from tests.cfn import metricmath
from tests.cfn.conftest import resources_of


@pytest.fixture(scope="module")
def alarm(scanner: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = resources_of(scanner, "AWS::CloudWatch::Alarm")[
        "ErrorVerdictRateAlarm"
    ]["Properties"]
    return props


def breaching(alarm: dict[str, Any], threshold: float, values: dict[str, float]) -> bool:
    """Whether one period with these counts breaches (GreaterThanThreshold; a period without a
    datapoint is notBreaching)."""
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    value = metricmath.alarm_value(alarm["Metrics"], values)
    return value is not None and value > threshold


def verdict_ids(alarm: dict[str, Any]) -> dict[str, str]:
    """Verdict -> the id of the query counting its scans."""
    found = {}
    for query in alarm["Metrics"]:
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            assert (metric["Namespace"], metric["MetricName"]) == (metrics.NAMESPACE, metrics.SCANS)
            ((dimension,),) = [metric["Dimensions"]]
            assert dimension["Name"] == metrics.VERDICT
            found[dimension["Value"]] = query["Id"]
    assert set(found) == {"passed", "failed", "error"}
    return found


def test_every_count_is_filled_with_zero_wherever_it_is_used(alarm: dict[str, Any]) -> None:
    stats = set(verdict_ids(alarm).values())
    used: set[str] = set()
    for query in alarm["Metrics"]:
        if "Expression" in query:
            tree = metricmath.parse(query["Expression"])
            assert metricmath.unfilled(tree, stats) == set(), query["Expression"]
            used |= metricmath.ids(tree) & stats
    assert used == stats


@pytest.mark.parametrize(
    ("counts", "rate"),
    [
        ({"error": 3}, 100.0),  # every scan errored: no passed or failed datapoint at all
        ({"error": 1, "passed": 1}, 50.0),  # no failed datapoint
        ({"error": 1, "failed": 1, "passed": 2}, 25.0),
        ({"error": 1, "passed": 9}, 10.0),
        ({"passed": 5}, 0.0),
        ({}, 0.0),  # no scan at all: 0, not a division by zero
    ],
)
def test_the_rate_is_the_share_of_error_verdicts(
    alarm: dict[str, Any], counts: dict[str, float], rate: float
) -> None:
    ids = verdict_ids(alarm)
    values = {ids[verdict]: n for verdict, n in counts.items()}
    assert metricmath.alarm_value(alarm["Metrics"], values) == pytest.approx(rate)


def test_errors_alone_breach_the_default_threshold(
    scanner: dict[str, Any], alarm: dict[str, Any]
) -> None:
    threshold = float(scanner["Parameters"]["ErrorVerdictRatePercent"]["Default"])
    assert alarm["Threshold"] == {"Ref": "ErrorVerdictRatePercent"}
    ids = verdict_ids(alarm)
    assert breaching(alarm, threshold, {ids["error"]: 1})
    assert breaching(alarm, threshold, {ids["error"]: 4, ids["passed"]: 6})
    assert not breaching(alarm, threshold, {ids["error"]: 1, ids["passed"]: 9})
    assert not breaching(alarm, threshold, {})


def test_the_evaluator_sees_the_gap_an_unfilled_expression_leaves(alarm: dict[str, Any]) -> None:
    # The expression this alarm had: with errors alone it has no datapoint, so it never fired.
    ids = verdict_ids(alarm)
    old = [
        {"Id": "rate", "Expression": "100 * error / (passed + failed + error)"},
        *[{**q, "ReturnData": False} for q in alarm["Metrics"] if "MetricStat" in q],
    ]
    assert metricmath.alarm_value(old, {ids["error"]: 3}) is None
    tree = metricmath.parse(old[0]["Expression"])
    assert metricmath.unfilled(tree, set(ids.values())) == set(ids.values())


def test_the_evaluator_refuses_what_it_does_not_know() -> None:
    with pytest.raises(NotImplementedError):
        metricmath.parse("RATE(m1)")
    with pytest.raises(ValueError):
        metricmath.parse("m1 +")
    assert metricmath.unfilled(metricmath.parse("FILL(m1, 1) + FILL(m2, 0)"), {"m1", "m2"}) == {
        "m1"
    }
