"""Fixtures for the CloudFormation, packaging and deploy-target tests."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]
CFN = ROOT / "cfn"
EVENTS = Path(__file__).parent / "events"
TEMPLATE_NAMES = ("scanner", "region-spoke", "account-spoke")

# scripts/ is not a package: its modules import each other as siblings, as when run directly.
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))


def load_template(name: str) -> dict[str, Any]:
    """Parse cfn/<name>.yaml with cfn-lint's loader (it knows the intrinsic-function tags)."""
    template, matches = decode(str(CFN / f"{name}.yaml"))
    assert not matches, matches
    assert template is not None
    # Plain dicts/lists, so comparisons and json.dumps behave as on any parsed JSON.
    return json.loads(json.dumps(template))


@pytest.fixture(scope="session")
def templates() -> dict[str, dict[str, Any]]:
    """All three templates, parsed once per session."""
    return {name: load_template(name) for name in TEMPLATE_NAMES}


@pytest.fixture(scope="session")
def scanner(templates: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The scanner (single account / hub) template."""
    return templates["scanner"]


def load_event(name: str) -> dict[str, Any]:
    """One sample EventBridge event from tests/cfn/events/."""
    return json.loads((EVENTS / f"{name}.json").read_text())


def resources_of(template: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resource for every resource of one type."""
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def policy_statements(role: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The statements of a role's inline policies; one under a condition (`Fn::If` with
    `AWS::NoValue` as the other branch) counts as granted."""
    found = []
    for policy in role["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            if "Fn::If" not in statement:
                found.append(statement)
                continue
            _, granted, other = statement["Fn::If"]
            assert other == {"Ref": "AWS::NoValue"}, statement
            found.append(granted)
    return found


def walk(node: Any, visit: Callable[[Any], None]) -> None:
    """Call visit on every dict and list inside node, depth first."""
    visit(node)
    if isinstance(node, dict):
        for value in node.values():
            walk(value, visit)
    elif isinstance(node, list):
        for value in node:
            walk(value, visit)
