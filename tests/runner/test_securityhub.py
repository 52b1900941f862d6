"""Security Hub: moto receives the import, a rescan updates and archives, batches are bounded,
throttling and partial failures are retried or reported, a hub that is off is a warning."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from scanner_runner import writers
from scanner_runner.publish import Targets, make_clients, publish
from scanner_runner.report import Finding, load
from scanner_runner.securityhub import BatchImporter, publish_findings
from scanner_runner.writers import asff
from tests.runner.conftest import error_policy, fixed_report

ACCOUNT, REGION = "123456789012", "us-east-1"  # moto's default account
NOW = "2026-03-02T10:00:00Z"
PRODUCT = f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"


def hub_client() -> Any:
    return boto3.session.Session(region_name=REGION).client("securityhub")


def all_findings(client: Any) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for page in client.get_paginator("get_findings").paginate():
        found |= {f["Id"]: f for f in page["Findings"]}
    return found


def publish_now(client: Any, report: Any) -> Any:
    return publish_findings(
        client, report, account=ACCOUNT, region=REGION, now=NOW, sleep=_no_sleep
    )


def _no_sleep(_: float) -> None:
    pass


def test_moto_receives_the_import_and_a_rescan_updates_and_archives(aws: None) -> None:
    client = hub_client()
    client.enable_security_hub()
    first = fixed_report()
    result = publish_now(client, first)
    expected = {f["Id"] for f in asff.findings(first, ACCOUNT, REGION)}
    assert result.imported == len(expected) and result.archived == 0 and not result.warnings
    stored = all_findings(client)
    assert set(stored) == expected
    assert {f["RecordState"] for f in stored.values()} == {"ACTIVE"}
    # another digest's finding must survive every rescan of this one
    other = fixed_report(image=first.image.__class__(ref="x", digest="sha256:" + "e" * 64))
    publish_now(client, other)

    # The rescan: openssl was upgraded (38001 gone), everything else is still there.
    kept = tuple(f for f in first.findings if f.id != "38001")
    rescan = fixed_report(findings=kept, finished_at="2026-03-02T09:59:00Z")
    result = publish_now(client, rescan)
    assert result.archived == 1
    stored = all_findings(client)
    gone = f"deployscan/{first.image.digest}/vulnerability/38001/openssl"
    assert stored[gone]["RecordState"] == "ARCHIVED"
    assert stored[gone]["UpdatedAt"] == NOW
    active = {i for i, f in stored.items() if f["RecordState"] == "ACTIVE"}
    assert active == (expected - {gone}) | {f["Id"] for f in asff.findings(other, ACCOUNT, REGION)}
    assert len(stored) == len(expected) + len(asff.findings(other, ACCOUNT, REGION))  # no copies
    assert stored[f"deployscan/{first.image.digest}/vulnerability/38002/zlib1g"]["UpdatedAt"] == (
        "2026-03-02T09:59:00Z"
    )


def test_a_rescan_keeps_when_a_finding_was_first_observed(aws: None) -> None:
    client = hub_client()
    first = fixed_report()  # finished 2026-03-01T10:00:42Z
    publish_now(client, first)
    kept = tuple(f for f in first.findings if f.id != "38001")
    new = Finding("38099", "high", "new issue", ("CVE-2026-0099",), "curl", "8.0.1")
    rescan = fixed_report(findings=(*kept, new), finished_at="2026-03-09T08:00:00Z")
    publish_findings(client, rescan, account=ACCOUNT, region=REGION,
                     now="2026-03-09T08:00:05Z", sleep=_no_sleep)  # fmt: skip
    stored = all_findings(client)
    prefix = f"deployscan/{first.image.digest}/vulnerability"
    again = stored[f"{prefix}/38002/zlib1g"]
    assert again["FirstObservedAt"] == again["CreatedAt"] == "2026-03-01T10:00:42Z"
    assert again["LastObservedAt"] == again["UpdatedAt"] == "2026-03-09T08:00:00Z"
    fresh = stored[f"{prefix}/38099/curl"]
    assert fresh["FirstObservedAt"] == fresh["CreatedAt"] == "2026-03-09T08:00:00Z"
    gone = stored[f"{prefix}/38001/openssl"]
    assert gone["RecordState"] == "ARCHIVED"
    assert gone["FirstObservedAt"] == gone["CreatedAt"] == "2026-03-01T10:00:42Z"
    assert gone["FindingProviderFields"] == {"Types": gone["Types"], "Severity": gone["Severity"]}


def test_an_error_scan_archives_nothing_and_inventory_only_keeps_vulnerabilities(
    aws: None,
) -> None:
    client = hub_client()
    publish_now(client, fixed_report())
    before = all_findings(client)
    error = fixed_report(status="error", findings=(), policy=error_policy())
    assert publish_now(client, error).archived == 0
    inventory = fixed_report(findings=(), vulnerability_data=False)
    assert publish_now(client, inventory).archived == 0  # it never looked for vulnerabilities
    assert {i: f["RecordState"] for i, f in all_findings(client).items()} == {
        i: "ACTIVE" for i in before
    }


def test_ten_thousand_findings_import_in_a_hundred_calls() -> None:
    many = tuple(
        Finding(str(100000 + i), "medium", f"issue {i}", (f"CVE-2025-{i:05d}",), f"pkg{i}", "1.0")
        for i in range(10_000)
    )
    report = fixed_report(findings=many)
    items = asff.findings(report, ACCOUNT, REGION)
    assert len(items) == 10_000
    client = hub_client()
    with Stubber(client) as stub:
        stub.add_response("get_findings", {"Findings": []})
        for start in range(0, 10_000, 100):
            batch = items[start : start + 100]
            stub.add_response(
                "batch_import_findings",
                {"FailedCount": 0, "SuccessCount": 100, "FailedFindings": []},
                {"Findings": batch},
            )
        result = publish_now(client, report)
        stub.assert_no_pending_responses()
    assert result.calls == 100 and result.imported == 10_000 and not result.warnings


def test_throttling_and_retryable_partial_failures_are_retried_others_reported() -> None:
    items = asff.findings(fixed_report(), ACCOUNT, REGION)
    first, second, third = items[0]["Id"], items[1]["Id"], items[2]["Id"]
    client = hub_client()
    sleeps: list[float] = []
    with Stubber(client) as stub:
        stub.add_client_error("batch_import_findings", "ThrottlingException", "slow down")
        stub.add_response(
            "batch_import_findings",
            {
                "FailedCount": 2,
                "SuccessCount": len(items) - 2,
                "FailedFindings": [
                    {"Id": first, "ErrorCode": "ThrottlingException", "ErrorMessage": "later"},
                    {"Id": second, "ErrorCode": "InvalidInput", "ErrorMessage": "bad Title"},
                ],
            },
        )
        stub.add_response(
            "batch_import_findings",
            {"FailedCount": 0, "SuccessCount": 1, "FailedFindings": []},
            {"Findings": [items[0]]},  # only the retryable one is sent again
        )
        done = BatchImporter(client, sleep=sleeps.append).run(items)
        stub.assert_no_pending_responses()
    assert done.calls == 3 and sleeps == [1.0, 2.0]
    assert done.failed_ids == (second,)
    assert done.warnings == ("Security Hub rejected 1 finding(s): InvalidInput: bad Title",)
    assert third not in done.failed_ids


def test_security_hub_not_enabled_is_a_warning_not_a_failure() -> None:
    client = hub_client()
    with Stubber(client) as stub:
        stub.add_client_error(
            "get_findings",
            "InvalidAccessException",
            "Account is not subscribed to AWS Security Hub",
        )
        result = publish_now(client, fixed_report())
        stub.assert_no_pending_responses()  # and no import was tried
    assert result.imported == 0
    assert result.warnings == (
        "Security Hub is not enabled, findings not imported: InvalidAccessException: "
        "Account is not subscribed to AWS Security Hub",
    )


def test_publish_with_security_hub_on(aws: None, tmp_path: Path) -> None:
    """Through `publish`: moto's hub gets the findings; a hub that is off becomes a warning in
    the reports and `Published.warnings`, and the build is not failed for it."""
    session = boto3.session.Session(region_name=REGION)
    targets = Targets(security_hub=True)
    clients = make_clients(targets, session)
    report = fixed_report()
    writers.write_all(report, tmp_path)
    done = publish(report, tmp_path, targets=targets, clients=clients, cache_keys=(),
                   now=datetime(2026, 3, 2, 10, tzinfo=UTC))  # fmt: skip
    assert not done.failed and not done.warnings
    assert len(all_findings(clients.securityhub)) == len(asff.findings(report, ACCOUNT, REGION))

    off = hub_client()
    with Stubber(off) as stub:
        stub.add_client_error("get_findings", "InvalidAccessException", "not subscribed")
        done = publish(report, tmp_path, targets=targets,
                       clients=clients.__class__(securityhub=off, sts=clients.sts),
                       cache_keys=(), now=datetime(2026, 3, 2, 10, tzinfo=UTC))  # fmt: skip
    assert not done.failed
    (warning,) = done.warnings
    assert "Security Hub is not enabled" in warning
    assert warning in load(tmp_path / "report.json").policy.warnings
    assert "Security Hub is not enabled" in (tmp_path / "report.html").read_text()
    assert done.report is not None and warning in done.report.policy.warnings


@pytest.mark.parametrize("value", ["yes", "1", "enabled"])
def test_security_hub_setting_is_on_or_off(value: str) -> None:
    from scanner_runner.errors import SettingsError
    from scanner_runner.settings import Settings

    assert Settings.from_env({}).security_hub is False
    assert Settings.from_env({"SECURITY_HUB": "ON"}).security_hub is True
    with pytest.raises(SettingsError, match="SECURITY_HUB must be on or off"):
        Settings.from_env({"SECURITY_HUB": value})
