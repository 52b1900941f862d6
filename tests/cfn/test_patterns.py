"""Every rule's pattern, evaluated against sample events: what must route, and what must not."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cfn.conftest import load_event, resources_of
from tests.cfn.patterns import matches

# event file -> the rule (logical id without a "Hub" prefix) that must pick it up, or None.
EXPECTED_ROUTE = {
    "ecs-task-running": "EcsTaskRunningRule",
    "ecs-task-pending": None,
    "ecs-task-stopped": None,
    "ecs-registertaskdefinition": "EcsApiRule",
    "ecs-runtask": "EcsApiRule",
    "ecs-starttask": "EcsApiRule",
    "ecs-createservice": "EcsApiRule",
    "ecs-updateservice": "EcsApiRule",
    "ecs-createtaskset": "EcsApiRule",
    "ecs-updateservice-denied": None,  # failed calls deploy nothing
    "ecs-createcluster": None,
    "lambda-createfunction": "LambdaApiRule",
    "lambda-updatefunctioncode": "LambdaApiRule",
    "lambda-updatefunctioncode-denied": None,
    # a new layer list is new code: the dispatcher skips the other configuration updates
    "lambda-updatefunctionconfiguration": "LambdaApiRule",
    "lambda-publishlayerversion": "LambdaApiRule",
    "lambda-createfunctionurlconfig": None,  # shares the CreateFunction prefix
    "ecr-image-push": None,  # a push is not a deploy
}


def _rules(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        rid: rule["Properties"]["EventPattern"]
        for rid, rule in resources_of(template, "AWS::Events::Rule").items()
        if rid != "FirstSweepRule"  # the sweep's start, not a deploy path (test_templates.py)
    }


@pytest.mark.parametrize("event_name", sorted(EXPECTED_ROUTE))
@pytest.mark.parametrize("template_name", ["scanner", "region-spoke", "account-spoke"])
def test_event_reaches_exactly_the_expected_rule(
    templates: dict[str, dict[str, Any]], template_name: str, event_name: str
) -> None:
    event = load_event(event_name)
    hits = {
        rid.removeprefix("Hub")
        for rid, pattern in _rules(templates[template_name]).items()
        if matches(pattern, event)
    }
    expected = EXPECTED_ROUTE[event_name]
    assert hits == ({expected} if expected else set())


def test_every_rule_is_exercised_by_some_event(templates: dict[str, dict[str, Any]]) -> None:
    for template in templates.values():
        names = {rid.removeprefix("Hub") for rid in _rules(template)}
        assert names == {r for r in EXPECTED_ROUTE.values() if r}


def test_patterns_are_identical_in_all_templates(templates: dict[str, dict[str, Any]]) -> None:
    reference = _rules(templates["scanner"])
    for rid, pattern in reference.items():
        assert reference[rid.removeprefix("Hub")] == pattern
    for name in ("region-spoke", "account-spoke"):
        spoke = _rules(templates[name])
        assert spoke == {rid: reference[rid] for rid in spoke}


def test_cloudtrail_rules_can_be_turned_off(templates: dict[str, dict[str, Any]]) -> None:
    for template in templates.values():
        for rid, rule in resources_of(template, "AWS::Events::Rule").items():
            is_cloudtrail = "ApiRule" in rid
            condition = rule.get("Condition")
            if is_cloudtrail:
                assert condition in ("UseCloudTrail", "HubWithCloudTrail"), rid
            else:
                assert condition in (None, "IsHub"), rid


# The matcher itself, so a pattern test cannot pass because the matcher is lax.
@pytest.mark.parametrize(
    ("pattern", "event", "expected"),
    [
        ({"a": ["x"]}, {"a": "x"}, True),
        ({"a": ["x"]}, {"a": "y"}, False),
        ({"a": ["x"]}, {}, False),
        ({"a": ["x"]}, {"a": ["y", "x"]}, True),
        ({"a": [{"prefix": "Up"}]}, {"a": "Update"}, True),
        ({"a": [{"prefix": "Up"}]}, {"a": "Create"}, False),
        ({"a": [{"exists": False}]}, {}, True),
        ({"a": [{"exists": False}]}, {"a": "AccessDenied"}, False),
        ({"a": [{"exists": True}]}, {"a": "v"}, True),
        ({"a": [{"anything-but": ["x"]}]}, {"a": "y"}, True),
        ({"a": [{"anything-but": "x"}]}, {"a": "x"}, False),
        ({"d": {"a": [1]}}, {"d": {"a": 1}}, True),
        ({"d": {"a": [1]}}, {"d": "flat"}, False),
        ({"a": ["1"]}, {"a": 1}, False),
    ],
)
def test_matcher(pattern: dict[str, Any], event: dict[str, Any], expected: bool) -> None:
    assert matches(pattern, event) is expected


def test_matcher_refuses_unknown_operators() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        matches({"a": [{"numeric": [">", 1]}]}, {"a": 2})
