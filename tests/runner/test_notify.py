"""The SNS message is for a person: what, where it runs, verdict, top findings, console link."""

from __future__ import annotations

import json

import pytest

from scanner_runner.consolelinks import s3_object_url
from scanner_runner.notify import message, where_it_runs
from scanner_runner.report import TriggerInfo
from tests.runner.conftest import denied_inventory_report, error_policy, fixed_report

URI = "s3://scan-results/reports/123456789012/eu-west-1/shop/api/sha256-0123/20260301T100042Z-b/report.json"


def test_a_failed_scan_reads_as_a_short_story() -> None:
    text = message(fixed_report(), URI)
    lines = text.splitlines()
    assert lines[0] == "FAILED the policy: shop/api@0123456789ab"
    assert "Where: ECS task arn:aws:ecs:eu-west-1:123456789012:task/prod/0a1b2c3d" in text
    assert "(account 123456789012, eu-west-1)" in text
    assert "Counts: 2 critical, 1 high, 1 medium, 1 low, 0 info" in text
    top = [line for line in lines if line.startswith("  - ")]
    assert top[0] == (
        "  - CRITICAL CVE-2024-0001 in openssl 3.0.11-1~deb12u2, fix: 3.0.13-1~deb12u1 "
        "(id 38001) [breaks policy]"
    )
    assert "(+4)" in top[2]  # seven CVEs: three shown
    assert (
        "Report: https://s3.console.aws.amazon.com/s3/object/scan-results?prefix=reports/"
        "123456789012/eu-west-1/shop/api/sha256-0123/20260301T100042Z-b/report.html"
    ) in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    assert all(line.isprintable() for line in lines)  # scanner text cannot inject controls


def test_inventory_only_error_and_unknown_places() -> None:
    inventory = message(fixed_report(status="passed", findings=(), vulnerability_data=False), "")
    assert inventory.startswith("INVENTORY ONLY - no vulnerability data")
    assert "Counts: n/a (no vulnerability data)" in inventory and "Report:" not in inventory
    error = message(
        fixed_report(status="error", findings=(), policy=error_policy(), error="pull failed"), URI
    )
    assert error.startswith("SCAN ERROR - not checked") and "Error: pull failed" in error
    manual = fixed_report(trigger=TriggerInfo())
    assert where_it_runs(manual) == "not known (a manual or pipeline scan)"
    lam = fixed_report(trigger=TriggerInfo(resource_arn="arn:aws:lambda:us-east-1:1:function:f"))
    assert where_it_runs(lam) == "Lambda function arn:aws:lambda:us-east-1:1:function:f"


def test_a_deny_list_failure_without_vulnerability_data_says_inventory_only() -> None:
    text = message(denied_inventory_report(), URI)
    assert text.splitlines()[0] == (
        "INVENTORY ONLY - FAILED the deny list, no vulnerability data: shop/api@0123456789ab"
    )
    assert "Counts: n/a (no vulnerability data)" in text
    assert "  - CRITICAL CVE-2024-3094 in xz-utils 5.6.0, no fix yet" in text


@pytest.mark.parametrize(
    ("region", "link"),
    [
        ("eu-west-1", "https://s3.console.aws.amazon.com/s3/object/scan-results?region=eu-west-1&"),
        ("cn-north-1", "https://console.amazonaws.cn/s3/object/scan-results?region=cn-north-1&"),
        ("us-gov-west-1",
         "https://console.amazonaws-us-gov.com/s3/object/scan-results?region=us-gov-west-1&"),
    ],
)  # fmt: skip
def test_the_console_link_names_the_bucket_region_in_its_partition(region: str, link: str) -> None:
    text = message(fixed_report(), URI, region)
    (line,) = [x for x in text.splitlines() if x.startswith("Report: ")]
    assert line.startswith(f"Report: {link}prefix=reports/123456789012/eu-west-1/shop/api/")
    assert line.endswith("/report.html")


def test_console_links_only_for_s3_objects() -> None:
    assert s3_object_url("s3://bucket/a b/report.html") == (
        "https://s3.console.aws.amazon.com/s3/object/bucket?prefix=a%20b/report.html"
    )
    for bad in ("", "s3://bucket", "s3://bucket/", "https://example.com/x", "/tmp/report.html"):
        assert s3_object_url(bad) == ""
