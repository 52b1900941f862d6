"""The publishing steps that meet a security team where it works: Security Hub and EventBridge.

Called by `publish.publish`: Security Hub before the reports are uploaded (its warnings go into
the report), the `Scan Completed` event after the notification (it carries the report URIs).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dispatcher import eventbus
from dispatcher.buildvars import KIND_LAMBDA_LAYER, KIND_LAMBDA_ZIP
from dispatcher.errors import aws_error_text
from scanner_runner import securityhub
from scanner_runner.consolelinks import beside_report, s3_object_url
from scanner_runner.report import ScanReport
from scanner_runner.writers import FORMATS

TOP_FINDINGS = 5
_KINDS = {KIND_LAMBDA_ZIP: "function", KIND_LAMBDA_LAYER: "layer"}  # the event's `kind` of zip code


def security_hub(
    report: ScanReport,
    clients: Any,
    now: str,
    sleep: Callable[[float], None] = time.sleep,
) -> securityhub.HubResult:
    """Import into this account's Security Hub (the caller's account, as Security Hub requires)."""
    try:
        account = clients.sts.get_caller_identity()["Account"]
    except (ClientError, BotoCoreError, KeyError) as exc:
        reason = aws_error_text(exc) if not isinstance(exc, KeyError) else "no account"
        return securityhub.HubResult(warnings=(f"Security Hub skipped: {reason}",))
    region = clients.securityhub.meta.region_name
    return securityhub.publish_findings(
        clients.securityhub, report, account=account, region=region, now=now, sleep=sleep
    )


def with_warnings(report: ScanReport, warnings: tuple[str, ...]) -> ScanReport:
    """The report with `warnings` added to its policy warnings (once each)."""
    merged = tuple(dict.fromkeys((*report.policy.warnings, *warnings)))
    return report.with_(policy=replace(report.policy, warnings=merged))


def report_uris(report: ScanReport, stored: bool) -> dict[str, str]:
    """Format name -> S3 URI of each report file (empty when nothing reached S3)."""
    if not report.report_uri or not stored:
        return {}
    return {name: beside_report(report.report_uri, out.filename) for name, out in FORMATS.items()}


def scan_completed(report: ScanReport, stored: bool, region: str = "") -> eventbus.EventEntry:
    """The `Scan Completed` event of a report (`region`: the reports bucket's, for the console
    link)."""
    image = report.image
    top = [f for f in report.sorted_findings() if not f.ignored][:TOP_FINDINGS]
    uris = report_uris(report, stored)
    return eventbus.scan_completed(
        kind=_KINDS.get(report.lambda_code.kind, "function") if report.lambda_code else "image",
        image=image.ref,
        digest=image.identity,
        verdict=report.status,
        counts=report.summary,
        vulnerability_data=report.vulnerability_data,
        policy_reason=report.policy.reason,
        report_uris=uris,
        report_url=s3_object_url(uris["html"], region) if "html" in uris else "",
        trigger=report.trigger.source,
        resource_arn=report.trigger.resource_arn,
        account=report.trigger.account,
        region=report.trigger.region,
        scanner=report.scanner.name,
        build_id=report.build_id,
        finished_at=report.finished_at,
        top_findings=[
            {
                "id": f.id,
                "severity": f.severity,
                "package": f.package,
                "installed_version": f.installed_version,
                "fixed_version": f.fixed_version,
                "cves": list(f.cves[:5]),
                "breaks_policy": f.violation,
            }
            for f in top
        ],
    )


def send_scan_completed(
    report: ScanReport,
    client: Any,
    bus: str,
    stored: bool,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[str, ...]:
    """Put the `Scan Completed` event on `bus` ("default": the account's default bus);
    the failures, if any."""
    target = "" if bus == "default" else bus
    entry = scan_completed(report, stored, str(client.meta.region_name or ""))
    result = eventbus.put_events(client, [entry], bus=target, sleep=sleep)
    return tuple(f"EventBridge PutEvents: {f}" for f in result.failures)
