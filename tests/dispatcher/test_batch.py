"""An SQS batch end to end on moto SQS: capacity waits stay in the queue, hidden for their
backoff; poison goes to the dead-letter queue at once; started builds are deleted."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from dispatcher.batch import handle_batch
from dispatcher.dedup import Memo
from dispatcher.requeue import SqsQueue
from dispatcher.resolve import OfflineResolver
from dispatcher.retry import QUEUE_MAX_RECEIVES
from dispatcher.scancache import ScanCacheTable
from tests.dispatcher.conftest import REGION, RecordingLauncher, image_event, settings


@pytest.fixture
def queues(aws: None) -> tuple[Any, str, str]:
    """The event queue (visibility 0, so only the dispatcher can hide a message) and its DLQ."""
    sqs = boto3.client("sqs", region_name=REGION)
    dlq = sqs.create_queue(QueueName="deployscan-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
    redrive = {
        "deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"],
        "maxReceiveCount": QUEUE_MAX_RECEIVES,
    }
    url = sqs.create_queue(
        QueueName="deployscan-events",
        Attributes={"VisibilityTimeout": "0", "RedrivePolicy": json.dumps(redrive)},
    )["QueueUrl"]
    return sqs, url, dlq


def _lambda_event(sqs: Any, url: str) -> dict[str, Any]:
    """Receive like the event source mapping and build the function's event."""
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    got = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    )["Messages"]
    return {
        "Records": [
            {
                "messageId": msg["MessageId"],
                "receiptHandle": msg["ReceiptHandle"],
                "body": msg["Body"],
                "attributes": msg["Attributes"],
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": arn["Attributes"]["QueueArn"],
                "awsRegion": REGION,
            }
            for msg in got
        ]
    }


def test_capacity_waits_are_hidden_and_poison_is_dead_lettered(
    queues: tuple[Any, str, str], cache: ScanCacheTable
) -> None:
    sqs, url, dlq = queues
    ids = [
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(image_event(n)))["MessageId"]
        for n in range(3)
    ]
    poison = sqs.send_message(QueueUrl=url, MessageBody="{not json")["MessageId"]
    event = _lambda_event(sqs, url)
    assert len(event["Records"]) == 4

    class FullAfterOne(RecordingLauncher):
        def start(self, request: Any) -> str:
            if self.requests:
                self.refuse(1)
            return super().start(request)

    launcher = FullAfterOne()
    response = handle_batch(
        event, settings(dead_letter_queue_url=dlq), OfflineResolver(), cache=cache,
        launcher=launcher, queue=SqsQueue(sqs), memo=Memo(),
    )  # fmt: skip
    (started,) = launcher.requests
    waiting = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    assert waiting == set(ids) - {next(i for i in ids if _image(event, i) == started.digest)}
    # the event source mapping deletes what was not reported failed
    for record in event["Records"]:
        if record["messageId"] not in waiting:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=record["receiptHandle"])
    # hidden by the dispatcher: the queue's own visibility timeout is 0
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert counts["ApproximateNumberOfMessages"] == "0"
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "2"
    (dead,) = sqs.receive_message(QueueUrl=dlq, MessageAttributeNames=["All"])["Messages"]
    assert dead["Body"] == "{not json"
    why = {k: v["StringValue"] for k, v in dead["MessageAttributes"].items()}
    assert why["deployscan-reason"] == "unreadable-record"
    assert why["deployscan-message-id"] == poison


def _image(event: dict[str, Any], message_id: str) -> str:
    (record,) = [r for r in event["Records"] if r["messageId"] == message_id]
    return json.loads(record["body"])["detail"]["containers"][0]["imageDigest"]


def test_the_oldest_message_of_a_batch_asks_first(
    queues: tuple[Any, str, str], cache: ScanCacheTable
) -> None:
    sqs, url, dlq = queues
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(image_event(n)))
    event = _lambda_event(sqs, url)
    for record, stamp in zip(event["Records"], ["3000", "1000", "2000"], strict=True):
        record["attributes"]["SentTimestamp"] = stamp  # arrival order differs from batch order
    launcher = RecordingLauncher()
    handle_batch(
        event, settings(dead_letter_queue_url=dlq), OfflineResolver(), cache=cache,
        launcher=launcher, queue=SqsQueue(sqs), clock=lambda: 4.0, memo=Memo(),
    )  # fmt: skip
    order = [r.digest for r in launcher.requests]
    assert order == [_image(event, event["Records"][i]["messageId"]) for i in (1, 2, 0)]
