"""The Lambda entry point over moto: settings from the environment, partial batch response."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from dispatcher import handler
from dispatcher.errors import DeployscanError
from dispatcher.logs import DECISION_LOGGER, JsonFormatter
from dispatcher.resolve_aws import AwsResolver
from tests.dispatcher.conftest import create_project, create_table, load_event

HOME_REGION = "us-east-1"


@dataclass
class Context:
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:deployscan-dispatch"


@pytest.fixture
def deployed(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The hub: scan-cache table, CodeBuild project, the function's environment."""
    create_table(boto3.client("dynamodb", region_name=HOME_REGION), "scan-cache")
    codebuild = boto3.client("codebuild", region_name=HOME_REGION)
    create_project(codebuild, "deployscan-scan")
    dlq = boto3.client("sqs", region_name=HOME_REGION).create_queue(QueueName="deployscan-dlq")
    for name, value in {
        "SCAN_PROJECT_NAME": "deployscan-scan",
        "SCAN_CACHE_TABLE": "scan-cache",
        "DEAD_LETTER_QUEUE_URL": dlq["QueueUrl"],
        "CROSS_ACCOUNT_ROLE_NAME": "deployscan-read",
        "EXCLUDE_REPOSITORIES": "library/busybox",
        "LOG_LEVEL": "INFO",
    }.items():
        monkeypatch.setenv(name, value)
    root = logging.getLogger()
    saved = (root.level, [(h, h.formatter) for h in root.handlers])
    handler.runtime.cache_clear()
    handler._sweep_io.cache_clear()
    yield codebuild
    handler.runtime.cache_clear()
    handler._sweep_io.cache_clear()
    root.setLevel(saved[0])
    for h, formatter in saved[1]:
        h.setFormatter(formatter)


def test_sqs_batch_sends_the_unreadable_message_to_the_dead_letter_queue(
    deployed: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=DECISION_LOGGER)
    response = handler.lambda_handler(load_event("sqs-batch.json"), Context())
    assert response == {"batchItemFailures": []}
    sqs = boto3.client("sqs", region_name=HOME_REGION)
    dlq = sqs.get_queue_url(QueueName="deployscan-dlq")["QueueUrl"]
    (dead,) = sqs.receive_message(QueueUrl=dlq, MessageAttributeNames=["All"])["Messages"]
    assert dead["Body"] == "{not json"
    assert dead["MessageAttributes"]["deployscan-message-id"]["StringValue"] == "m-2"
    builds = deployed.list_builds_for_project(projectName="deployscan-scan")["ids"]
    assert len(builds) == 2
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records
             if r.name == DECISION_LOGGER]  # fmt: skip
    assert [(x["action"], x["reason"], x["record"]) for x in lines] == [
        ("build", "started", "m-1"),
        ("build", "started", "m-1"),
        ("skip", "unreadable-record", "m-2"),
        ("skip", "lookup-failed", "m-3"),  # a zip function moto does not hold
    ]
    assert all(x["level"] == "INFO" and x["message"] == "decision" for x in lines)
    assert lines[0]["build_id"] in builds
    # the same batch again: the leases hold, nothing new starts
    assert handler.lambda_handler(load_event("sqs-batch.json"), Context()) == response
    assert len(deployed.list_builds_for_project(projectName="deployscan-scan")["ids"]) == 2


def test_settings_are_read_once_per_cold_start(deployed: Any, monkeypatch: Any) -> None:
    first = handler.runtime()
    monkeypatch.setenv("SCAN_PROJECT_NAME", "changed")
    assert handler.runtime() is first
    assert first.settings.project_name == "deployscan-scan"
    assert first.settings.filters.exclude_repositories == ("library/busybox",)


def test_a_direct_event_that_fails_raises_for_lambda_retry(deployed: Any) -> None:
    with pytest.raises(DeployscanError):
        handler.lambda_handler({"source": "aws.ecs", "detail-type": "x"}, Context())
    assert handler.lambda_handler(load_event("ecs-task-stopped.json"), Context()) == {
        "batchItemFailures": []
    }


def test_a_requested_sweep_fans_out_from_the_lambda(
    deployed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs = boto3.client("sqs", region_name=HOME_REGION)
    url = sqs.create_queue(QueueName="deployscan-events")["QueueUrl"]
    monkeypatch.setenv("EVENT_QUEUE_URL", url)
    monkeypatch.setenv("SWEEP_REGIONS", "us-east-1,eu-west-1")
    monkeypatch.setenv("SWEEP_ACCOUNTS", "210987654321")
    handler.runtime.cache_clear()
    body = json.dumps({"source": "deployscan.sweep", "detail-type": "Sweep Requested",
                       "detail": {}})  # fmt: skip
    batch = {"Records": [{"messageId": "m1", "body": body, "receiptHandle": "rh",
                          "attributes": {"SentTimestamp": "1"}}]}  # fmt: skip
    assert handler.lambda_handler(batch, Context()) == {"batchItemFailures": []}
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    units = sorted((json.loads(m["Body"])["detail"]["account"],
                    json.loads(m["Body"])["detail"]["region"]) for m in got)  # fmt: skip
    assert units == [("123456789012", "eu-west-1"), ("123456789012", "us-east-1"),
                     ("210987654321", "eu-west-1"), ("210987654321", "us-east-1")]  # fmt: skip


def test_member_role_sessions_do_not_outlive_an_invocation(deployed: Any) -> None:
    # Assumed-role credentials expire (an hour by default) and nothing refreshes them: a warm
    # environment must not keep the sweep's member-account sessions from one invocation to the next.
    run = handler.runtime()
    resolver = AwsResolver(run.session, "deployscan-read", home_account="123456789012")
    first, second = handler._sweeper(run, resolver), handler._sweeper(run, resolver)
    assert first is not None and second is not None
    assert first.clients is not second.clients
    assert (first.sqs, first.s3) == (second.sqs, second.s3)  # plain home-account clients are kept
