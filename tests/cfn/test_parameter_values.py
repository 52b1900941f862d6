"""Parameter values the code must agree with: the lease default."""

from __future__ import annotations

from typing import Any

from dispatcher.settings import DEFAULT_LEASE_MINUTES
from dispatcher.settings import Settings as DispatcherSettings
from tests.cfn.conftest import ROOT


def test_the_lease_outlasts_the_longest_build_and_its_queue(scanner: dict[str, Any]) -> None:
    params, res = scanner["Parameters"], scanner["Resources"]
    project = res["ScanProject"]["Properties"]
    assert project["TimeoutInMinutes"] == {"Ref": "BuildTimeoutMinutes"}
    assert res["Dispatcher"]["Properties"]["Environment"]["Variables"]["LEASE_MINUTES"] == {
        "Ref": "LeaseMinutes"
    }
    queued = project["QueuedTimeoutInMinutes"]
    assert isinstance(queued, int)  # a literal; were it a parameter, its MaxValue would count
    build, lease = params["BuildTimeoutMinutes"], params["LeaseMinutes"]
    assert int(lease["Default"]) > int(build["Default"]) + queued
    assert int(lease["Default"]) > int(build["MaxValue"]) + queued
    assert int(lease["MinValue"]) <= int(lease["Default"]) <= int(lease["MaxValue"])


def test_the_lease_default_is_the_same_everywhere(scanner: dict[str, Any]) -> None:
    default = int(scanner["Parameters"]["LeaseMinutes"]["Default"])
    assert default == DEFAULT_LEASE_MINUTES
    assert DispatcherSettings.from_env({}, require_execution=False).lease_minutes == default
    assert f"| `LeaseMinutes` | {default} |" in (ROOT / "docs" / "deploy.md").read_text()
    assert f"| `LEASE_MINUTES` | {default} |" in (ROOT / "docs" / "dispatcher.md").read_text()
