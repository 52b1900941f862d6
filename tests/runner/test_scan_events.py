"""The runner's `Scan Completed` event: sent by `publish`, delivered by moto, valid per schema."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from cfnlint.decode import decode_str

from scanner_runner import integrations, writers
from scanner_runner.consolelinks import s3_object_url
from scanner_runner.publish import Clients, Targets, make_clients, publish
from scanner_runner.report import TriggerInfo
from tests.eventsink import received, rule_queue, validate_event
from tests.runner.conftest import error_policy, fixed_report
from tests.runner.test_asff_zip import zip_report

DOCS = Path(__file__).resolve().parents[2] / "docs"
NOW = datetime(2026, 3, 1, 10, 0, 42, tzinfo=UTC)


def documented_rule(name: str) -> dict[str, Any]:
    """The Properties of the rule `name` in a YAML block of docs/integrations.md."""
    blocks = re.findall(r"```yaml\n(.*?)```", (DOCS / "integrations.md").read_text(), re.S)
    parsed = [decode_str(block) for block in blocks]  # cfn-lint's loader knows `!Ref` and co.
    assert all(not errors for _, errors in parsed), [e for _, e in parsed if e]
    found = [doc[name] for doc, _ in parsed if doc and name in doc]
    assert len(found) == 1, f"docs/integrations.md shows {name} {len(found)} times"
    return dict(found[0]["Properties"])


def queue_for_rule(session: Any, rule: dict[str, Any]) -> str:
    """Put a documented rule on moto, an SQS queue in place of its target; the queue URL."""
    (target,) = rule["Targets"]
    kept = {k: target[k] for k in ("Id", "InputTransformer") if k in target}
    return rule_queue(session.client("events"), session.client("sqs"), "chat",
                      rule["EventPattern"], rule="documented", target=kept)  # fmt: skip


def test_publish_sends_scan_completed_that_the_documented_rule_matches(
    aws: None, tmp_path: Path
) -> None:
    session = boto3.session.Session(region_name="us-east-1")
    events, sqs = session.client("events"), session.client("sqs")
    queue = rule_queue(events, sqs, "all", {"source": ["deployscan"]}, rule="all",
                       target={"Id": "all"})  # fmt: skip
    chat = queue_for_rule(session, documented_rule("FailedScansToChat"))
    targets = Targets(event_bus="default")
    report = fixed_report()
    writers.write_all(report, tmp_path)
    done = publish(report, tmp_path, targets=targets, clients=make_clients(targets, session),
                   cache_keys=(), now=NOW)  # fmt: skip
    assert not done.failed
    (event,) = received(sqs, queue)
    validate_event(event)
    detail = event["detail"]
    assert detail["verdict"] == "failed" and detail["kind"] == "image"
    assert detail["counts"] == report.summary
    html = report.report_uri.replace("report.json", "report.html")
    assert detail["report_uris"]["html"] == html
    assert detail["report_url"] == s3_object_url(html, "us-east-1")
    assert detail["top_findings"][0]["id"] == "38001"
    assert len(detail["top_findings"]) == integrations.TOP_FINDINGS
    # What the documented chat rule hands SNS: an Amazon Q Developer custom notification.
    (notification,) = received(sqs, chat)
    assert (notification["version"], notification["source"]) == ("1.0", "custom")
    content = notification["content"]
    assert content["textType"] == "client-markdown"
    assert content["title"] == f":rotating_light: deployscan scan failed: {report.image.ref}"
    assert content["description"] == report.policy.reason
    assert content["nextSteps"] == [f"Open the report: {detail['report_url']}"]
    assert notification["metadata"]["threadId"] == report.image.digest


@pytest.mark.parametrize("stored", [True, False])
def test_event_detail_for_every_state_matches_the_schema(stored: bool) -> None:
    for report in (
        fixed_report(),
        fixed_report(status="error", findings=(), policy=error_policy(), vulnerability_data=False),
        fixed_report(findings=(), vulnerability_data=False),
    ):
        entry = integrations.scan_completed(report, stored)
        event = {"source": "deployscan", "detail-type": entry.detail_type, "detail": entry.detail}
        validate_event(event)
        assert bool(entry.detail["report_uris"]) is stored


def test_a_put_events_failure_is_a_publishing_failure(tmp_path: Path) -> None:
    client = boto3.session.Session(region_name="us-east-1").client("events")
    report = fixed_report()
    writers.write_all(report, tmp_path)
    with Stubber(client) as stub:
        stub.add_response("put_events", {"FailedEntryCount": 1, "Entries": [
            {"ErrorCode": "AccessDeniedException", "ErrorMessage": "not allowed"}]})  # fmt: skip
        done = publish(report, tmp_path, targets=Targets(event_bus="security"),
                       clients=Clients(events=client), cache_keys=(), now=NOW)  # fmt: skip
    assert done.failures == (
        "EventBridge PutEvents: Scan Completed: AccessDeniedException: not allowed",
    )


@pytest.mark.parametrize(
    ("changes", "matched"),
    [
        ({}, True),
        ({"findings": ()}, False),  # no critical finding
        ({"trigger": TriggerInfo(source="manual")}, False),  # runs nowhere known
    ],
)
def test_the_documented_ticket_rule_matches_critical_scans_of_running_workloads(
    aws: None, changes: dict[str, Any], matched: bool
) -> None:
    session = boto3.session.Session(region_name="us-east-1")
    rule = documented_rule("CriticalScansToTicket")
    rule["Targets"] = [{"Id": "ticket"}]  # the OpsItem target: an SQS queue on moto
    url = queue_for_rule(session, rule)
    report = fixed_report(**changes)
    if not changes.get("findings", True):
        report = report.with_(status="failed")
    integrations.send_scan_completed(report, session.client("events"), "default", stored=True)
    assert bool(received(session.client("sqs"), url)) is matched


def test_zip_functions_and_layers_are_their_own_kinds() -> None:
    function = zip_report()
    layer = zip_report("lambda-layer", "arn:aws:lambda:eu-west-1:111122223333:layer:shared-libs:4")
    kinds = [integrations.scan_completed(r, True).detail["kind"] for r in (function, layer)]
    assert kinds == ["function", "layer"]
    for report in (function, layer):
        entry = integrations.scan_completed(report, True, "eu-west-1")
        event = {"source": "deployscan", "detail-type": entry.detail_type, "detail": entry.detail}
        validate_event(event)
        assert entry.detail["report_url"].startswith("https://s3.console.aws.amazon.com/")
    assert integrations.scan_completed(function, False).detail["report_url"] is None
