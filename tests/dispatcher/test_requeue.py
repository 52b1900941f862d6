"""The SQS calls that settle a batch, request by request (botocore Stubber)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from dispatcher.envelope import Delivery
from dispatcher.requeue import SqsQueue, carry_out, queue_url
from dispatcher.retry import DeadLetter, Retry, Settlement, Wait

ARN = "arn:aws:sqs:eu-central-1:210987654321:deployscan-events"
URL = "https://sqs.eu-central-1.amazonaws.com/210987654321/deployscan-events"
DLQ = "https://sqs.eu-central-1.amazonaws.com/210987654321/deployscan-dlq"
DELIVERY = Delivery("{not json", "rh-1", ARN, 3, 1_800_000_000.0)


def _stubbed() -> tuple[SqsQueue, Stubber]:
    client = boto3.client("sqs", region_name="eu-central-1")
    return SqsQueue(client), Stubber(client)


def test_a_waiting_message_is_hidden_and_reported_failed() -> None:
    queue, stub = _stubbed()
    stub.add_response(
        "change_message_visibility",
        {},
        {"QueueUrl": URL, "ReceiptHandle": "rh-1", "VisibilityTimeout": 97},
    )
    with stub:
        failed = carry_out([Wait("m-1", DELIVERY, 97, "capacity-full")], queue, DLQ)
    stub.assert_no_pending_responses()
    assert failed == ["m-1"]


def test_poison_is_sent_to_the_dead_letter_queue_and_not_reported() -> None:
    queue, stub = _stubbed()
    expected: dict[str, Any] = {
        "QueueUrl": DLQ,
        "MessageBody": "{not json",
        "MessageAttributes": {
            f"deployscan-{name}": {"DataType": "String", "StringValue": value}
            for name, value in {
                "reason": "unreadable-record",
                "detail": "SQS body is not JSON",
                "message-id": "m-2",
                "receive-count": "3",
                "source-queue": ARN,
            }.items()
        },
    }
    stub.add_response("send_message", {"MessageId": "d-1"}, expected)
    item = DeadLetter("m-2", DELIVERY, "unreadable-record", "SQS body is not JSON")
    with stub:
        assert carry_out([item], queue, DLQ) == []
    stub.assert_no_pending_responses()


@pytest.mark.parametrize("operation", ["change_message_visibility", "send_message"])
def test_a_failed_sqs_call_falls_back_to_a_plain_failure(operation: str) -> None:
    queue, stub = _stubbed()
    stub.add_client_error(operation, "AWS.SimpleQueueService.NonExistentQueue")
    item = (
        Wait("m-1", DELIVERY, 90, "capacity-full")
        if operation == "change_message_visibility"
        else DeadLetter("m-1", DELIVERY, "unreadable-record", "")
    )
    with stub:
        assert carry_out([item], queue, DLQ) == ["m-1"]


def test_without_a_dead_letter_queue_or_a_queue_nothing_is_called() -> None:
    queue, stub = _stubbed()
    nowhere = Delivery("{}", None, None, 1, None)
    items: list[Settlement] = [
        DeadLetter("m-1", DELIVERY, "unreadable-record", ""),
        Wait("m-2", nowhere, 90, "capacity-full"),
        Retry("m-3", "unreadable-record"),
    ]
    with stub:  # any call would fail: the stub has no responses
        assert carry_out(items, queue, None) == ["m-1", "m-2", "m-3"]


@pytest.mark.parametrize(
    ("arn", "url"),
    [
        (ARN, URL),
        (
            "arn:aws-cn:sqs:cn-north-1:210987654321:q",
            "https://sqs.cn-north-1.amazonaws.com.cn/210987654321/q",
        ),
        ("arn:aws:sns:eu-central-1:210987654321:t", None),
        ("arn:aws:sqs:eu-central-1::q", None),
        ("not an arn", None),
        (None, None),
    ],
)
def test_queue_url_from_the_event_source_arn(arn: str | None, url: str | None) -> None:
    assert queue_url(arn) == url
