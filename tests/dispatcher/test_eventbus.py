"""EventBridge events: moto delivers them through a rule, each validates against the published
schema (docs/events.schema.json); PutEvents limits, FailedEntryCount and retries."""

from __future__ import annotations

from typing import Any

import boto3
import jsonschema  # type: ignore[import-untyped]  # no stubs; a test dependency only
import pytest
from botocore.stub import Stubber

from dispatcher import eventbus
from dispatcher.gate.verdict import GateVerdict
from tests.eventsink import received, rule_queue, validate_event

REGION = "eu-west-1"
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/api@sha256:" + "ab" * 32
TASK = "arn:aws:ecs:eu-west-1:123456789012:task/prod/0a1b2c3d"


def scan_entry(**changes: Any) -> eventbus.EventEntry:
    values: dict[str, Any] = {
        "kind": "image",
        "image": IMAGE,
        "digest": "sha256:" + "ab" * 32,
        "verdict": "failed",
        "counts": {"critical": 1, "high": 2, "medium": 0, "low": 0, "info": 3},
        "vulnerability_data": True,
        "policy_reason": "1 critical, 2 high at or above high",
        "report_uris": {"json": "s3://b/p/report.json", "html": "s3://b/p/report.html"},
        "report_url": "https://s3.console.aws.amazon.com/s3/object/b?prefix=p/report.html",
        "trigger": "ecs:TaskStateChange",
        "resource_arn": TASK,
        "account": "123456789012",
        "region": REGION,
        "scanner": "qscanner",
        "build_id": "deployscan-scan:1",
        "finished_at": "2026-03-01T10:00:42Z",
        "top_findings": [
            {
                "id": "38001",
                "severity": "critical",
                "package": "openssl",
                "installed_version": "3.0.11",
                "fixed_version": "3.0.13",
                "cves": ["CVE-2024-0001"],
                "breaks_policy": True,
            }
        ],
    }
    values.update(changes)
    return eventbus.scan_completed(**values)


def gate_entry() -> eventbus.EventEntry:
    verdict = GateVerdict(IMAGE, "deny", "2 critical findings", "s3://b/p/report.json")
    return eventbus.gate_decision(
        verdict, gate="ecs-hook", mode="enforce", account="123456789012", region=REGION,
        resource_arn="arn:aws:ecs:eu-west-1:123456789012:service/prod/api",
        deployment_id="ecs-svc/123",
    )  # fmt: skip


@pytest.fixture
def delivered(aws: None) -> tuple[Any, Any, str]:
    """An events client, an SQS client, and the queue a `source: deployscan` rule feeds."""
    session = boto3.session.Session(region_name=REGION)
    events, sqs = session.client("events"), session.client("sqs")
    events.create_event_bus(Name="security")
    url = rule_queue(events, sqs, "deployscan-events", {"source": ["deployscan"]}, rule="all",
                     buses=("default", "security"))  # fmt: skip
    return events, sqs, url


@pytest.mark.parametrize("bus", ["", "security"])
def test_moto_delivers_both_detail_types_and_each_matches_the_schema(
    delivered: tuple[Any, Any, str], bus: str
) -> None:
    events, sqs, url = delivered
    result = eventbus.put_events(events, [scan_entry(), gate_entry()], bus=bus)
    assert result == eventbus.SendResult(sent=2, calls=1)
    got = received(sqs, url)
    assert sorted(e["detail-type"] for e in got) == ["Gate Decision", "Scan Completed"]
    for event in got:
        validate_event(event)
        assert event["source"] == "deployscan"
    scan = next(e for e in got if e["detail-type"] == "Scan Completed")
    assert scan["resources"] == [TASK]
    assert scan["detail"]["verdict"] == "failed" and scan["detail"]["counts"]["critical"] == 1
    gate = next(e for e in got if e["detail-type"] == "Gate Decision")
    assert gate["detail"]["decision"] == "deny" and gate["detail"]["mode"] == "enforce"


def test_the_schema_rejects_what_consumers_must_not_see() -> None:
    event: dict[str, Any] = {"source": "deployscan", "detail-type": "Scan Completed",
             "detail": dict(scan_entry().detail)}  # fmt: skip
    validate_event(event)
    for broken in (
        {**event["detail"], "verdict": "clean"},
        {k: v for k, v in event["detail"].items() if k != "digest"},
        {**event["detail"], "counts": {"critical": -1}},
        {**event["detail"], "surprise": 1},
    ):
        with pytest.raises(jsonschema.ValidationError):
            validate_event({**event, "detail": broken})
    with pytest.raises(jsonschema.ValidationError):
        validate_event({**event, "source": "aws.ecr"})


def test_entries_go_ten_per_call_and_failed_ones_are_resent() -> None:
    client = boto3.session.Session(region_name=REGION).client("events")
    entries = [scan_entry(build_id=f"b{i}") for i in range(23)]
    ok = [{"EventId": f"e{i}"} for i in range(10)]
    sleeps: list[float] = []
    with Stubber(client) as stub:
        throttled = [{"ErrorCode": "ThrottlingException", "ErrorMessage": "slow"}, *ok[1:]]
        stub.add_response("put_events", {"FailedEntryCount": 1, "Entries": throttled},
                          {"Entries": [e.request("") for e in entries[:10]]})  # fmt: skip
        stub.add_response("put_events", {"FailedEntryCount": 0, "Entries": ok[:1]},
                          {"Entries": [entries[0].request("")]})  # fmt: skip
        denied = [{"ErrorCode": "AccessDeniedException", "ErrorMessage": "no"}, *ok[1:]]
        stub.add_response("put_events", {"FailedEntryCount": 1, "Entries": denied})
        stub.add_response("put_events", {"FailedEntryCount": 0, "Entries": ok[:3]})
        result = eventbus.put_events(client, entries, sleep=sleeps.append)
        stub.assert_no_pending_responses()
    assert result.calls == 4 and result.sent == 22 and sleeps == [0.5]
    assert result.failures == ("Scan Completed: AccessDeniedException: no",)


def test_entries_are_kept_under_256_kb() -> None:
    big = [{"id": str(i), "severity": "high", "package": "p" * 60_000, "installed_version": "1",
            "fixed_version": "", "cves": [], "breaks_policy": True} for i in range(10)]  # fmt: skip
    entry = scan_entry(top_findings=big)
    assert entry.size() <= eventbus.MAX_ENTRY_BYTES
    assert 0 < len(entry.detail["top_findings"]) < 10
    too_big = eventbus.EventEntry("Scan Completed", {"x": "y" * 300_000})
    client = boto3.session.Session(region_name=REGION).client("events")
    with Stubber(client) as stub:  # nothing is sent: the call would fail as a whole
        result = eventbus.put_events(client, [too_big])
        stub.assert_no_pending_responses()
    assert result.sent == 0 and "over 256 KB" in result.failures[0]


def test_gate_decision_builder_matches_the_schema() -> None:
    detail = dict(gate_entry().detail)
    validate_event({"source": "deployscan", "detail-type": "Gate Decision", "detail": detail})
    assert detail["would_deny"] is False and detail["deployment_id"] == "ecs-svc/123"
    assert gate_entry().resources == ("arn:aws:ecs:eu-west-1:123456789012:service/prod/api",)
