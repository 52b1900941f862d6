"""The runner's `Scan Completed` event: sent by `publish`, delivered by moto, valid per schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import jsonschema  # type: ignore[import-untyped]  # no stubs; a test dependency only
import pytest
from botocore.stub import Stubber

from scanner_runner import integrations, writers
from scanner_runner.publish import Clients, Targets, make_clients, publish
from scanner_runner.report import TriggerInfo
from tests.runner.conftest import error_policy, fixed_report

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "events.schema.json").read_text()
)
NOW = datetime(2026, 3, 1, 10, 0, 42, tzinfo=UTC)


def queue_for_rule(session: Any, pattern: dict[str, Any]) -> str:
    sqs, events = session.client("sqs"), session.client("events")
    url = sqs.create_queue(QueueName="chat")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name="failed-scans", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="failed-scans", Targets=[{"Id": "chat", "Arn": arn}])
    return url


def test_publish_sends_scan_completed_that_the_documented_rule_matches(
    aws: None, tmp_path: Path
) -> None:
    session = boto3.session.Session(region_name="us-east-1")
    # The rule docs/integrations.md shows for the chat channel.
    url = queue_for_rule(
        session,
        {"source": ["deployscan"], "detail-type": ["Scan Completed"],
         "detail": {"verdict": ["failed", "error"]}},
    )  # fmt: skip
    targets = Targets(event_bus="default")
    report = fixed_report()
    writers.write_all(report, tmp_path)
    done = publish(report, tmp_path, targets=targets, clients=make_clients(targets, session),
                   cache_keys=(), now=NOW)  # fmt: skip
    assert not done.failed
    (message,) = session.client("sqs").receive_message(QueueUrl=url)["Messages"]
    event = json.loads(message["Body"])
    jsonschema.Draft202012Validator(SCHEMA).validate(event)
    detail = event["detail"]
    assert detail["verdict"] == "failed" and detail["kind"] == "image"
    assert detail["counts"] == report.summary
    assert detail["report_uris"]["html"] == report.report_uri.replace("report.json", "report.html")
    assert detail["top_findings"][0]["id"] == "38001"
    assert len(detail["top_findings"]) == integrations.TOP_FINDINGS


@pytest.mark.parametrize("stored", [True, False])
def test_event_detail_for_every_state_matches_the_schema(stored: bool) -> None:
    for report in (
        fixed_report(),
        fixed_report(status="error", findings=(), policy=error_policy(), vulnerability_data=False),
        fixed_report(findings=(), vulnerability_data=False),
    ):
        entry = integrations.scan_completed(report, stored)
        event = {"source": "deployscan", "detail-type": entry.detail_type, "detail": entry.detail}
        jsonschema.Draft202012Validator(SCHEMA).validate(event)
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
    url = queue_for_rule(
        session,
        {"source": ["deployscan"], "detail-type": ["Scan Completed"],
         "detail": {"verdict": ["failed"], "counts": {"critical": [{"numeric": [">", 0]}]},
                    "resource": [{"prefix": "arn:"}]}},
    )  # fmt: skip
    report = fixed_report(**changes)
    if not changes.get("findings", True):
        report = report.with_(status="failed")
    integrations.send_scan_completed(report, session.client("events"), "default", stored=True)
    got = session.client("sqs").receive_message(QueueUrl=url).get("Messages", [])
    assert bool(got) is matched
