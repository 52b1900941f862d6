"""An SQS standard queue with a dead-letter queue, on a simulated clock.

What the dispatcher relies on, emulated: the visibility timeout of a receive, receive counts,
redrive to the DLQ once a message's receive count exceeds maxReceiveCount, retention, receipt
handles that go stale, ChangeMessageVisibility's limits, SendMessage, and the Lambda event
source mapping's records and partial batch responses. Delivery order is not guaranteed (a standard
queue's), so a receive takes a random sample of the visible messages.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

REGION, ACCOUNT = "eu-central-1", "210987654321"
EVENT_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:deployscan-events"
EVENT_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/deployscan-events"
DLQ_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/deployscan-dlq"
MAX_VISIBILITY = 12 * 3600


@dataclass(frozen=True)
class QueueConfig:
    """The event queue's settings (cfn/scanner.yaml EventQueue)."""

    visibility_timeout: int
    max_receive_count: int
    retention_seconds: int

    @classmethod
    def from_template(cls, template: dict[str, Any]) -> QueueConfig:
        """The EventQueue of a parsed scanner template."""
        props = template["Resources"]["EventQueue"]["Properties"]
        return cls(
            int(props["VisibilityTimeout"]),
            int(props["RedrivePolicy"]["maxReceiveCount"]),
            int(props["MessageRetentionPeriod"]),
        )


# The queue as the stack defined it before deploy waves were handled (cfn/scanner.yaml at f186854).
BEFORE = QueueConfig(visibility_timeout=360, max_receive_count=5, retention_seconds=345600)


@dataclass
class Message:
    """One stored message."""

    message_id: str
    body: str
    sent_at: float
    visible_at: float
    attributes: dict[str, Any] = field(default_factory=dict)
    receives: int = 0
    receipt: str = ""
    received_at: float = 0.0
    first_received_at: float | None = None
    dead_lettered_at: float | None = None


def _error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


class EmulatedSqs:
    """The event queue and its DLQ; boto3-shaped for the calls the dispatcher makes."""

    def __init__(
        self,
        config: QueueConfig,
        clock: Callable[[], float],
        rng: random.Random,
        *,
        fail_rate: float = 0.0,
    ) -> None:
        self.config = config
        self.clock = clock
        self.rng = rng
        self.fail_rate = fail_rate  # injected: a ChangeMessageVisibility that errors
        self.queue: dict[str, Message] = {}
        self.dead: list[Message] = []
        self.expired: list[Message] = []
        self.done: list[Message] = []  # deleted after the function finished them
        self._ids = itertools.count(1)
        self.calls = {"ChangeMessageVisibility": 0, "SendMessage": 0}

    def send(self, body: str, *, url: str = EVENT_URL, attributes: Any = None) -> Message:
        """A producer (an EventBridge rule, the dispatcher) sends a message."""
        now = self.clock()
        message = Message(f"msg-{next(self._ids)}", body, now, now, dict(attributes or {}))
        if url == DLQ_URL:
            message.dead_lettered_at = now
            self.dead.append(message)
        elif url == EVENT_URL:
            self.queue[message.message_id] = message
        else:
            raise _error("AWS.SimpleQueueService.NonExistentQueue", "SendMessage")
        return message

    # ---- the SQS API, as the dispatcher calls it
    def send_message(self, *, QueueUrl: str, MessageBody: str, **kwargs: Any) -> dict[str, str]:
        self.calls["SendMessage"] += 1
        attributes = kwargs.get("MessageAttributes") or {}
        return {"MessageId": self.send(MessageBody, url=QueueUrl, attributes=attributes).message_id}

    def change_message_visibility(
        self, *, QueueUrl: str, ReceiptHandle: str, VisibilityTimeout: int
    ) -> dict[str, Any]:
        self.calls["ChangeMessageVisibility"] += 1
        now = self.clock()
        if QueueUrl != EVENT_URL:
            raise _error("AWS.SimpleQueueService.NonExistentQueue", "ChangeMessageVisibility")
        message = next((m for m in self.queue.values() if m.receipt == ReceiptHandle), None)
        if message is None:
            raise _error("ReceiptHandleIsInvalid", "ChangeMessageVisibility")
        if message.visible_at <= now:
            raise _error("MessageNotInflight", "ChangeMessageVisibility")
        if not 0 <= now + VisibilityTimeout - message.received_at <= MAX_VISIBILITY:
            raise _error("InvalidParameterValue", "ChangeMessageVisibility")
        if self.rng.random() < self.fail_rate:
            raise _error("InternalError", "ChangeMessageVisibility")
        message.visible_at = now + VisibilityTimeout
        return {}

    # ---- what the Lambda event source mapping does
    def receive(self, limit: int, *, until: float | None = None) -> list[Message]:
        """Receive up to `limit` messages visible by `until` (default now), redrive applied."""
        now = self.clock()
        self._expire(now)
        horizon = now if until is None else until
        visible = [m for m in self.queue.values() if m.visible_at <= horizon]
        self.rng.shuffle(visible)
        taken: list[Message] = []
        for message in visible:
            if len(taken) == limit:
                break
            if message.receives >= self.config.max_receive_count:
                del self.queue[message.message_id]  # the redrive policy moves it
                message.dead_lettered_at = now
                self.dead.append(message)
                continue
            message.receives += 1
            message.receipt = f"{message.message_id}/{message.receives}"
            message.received_at = now
            message.first_received_at = message.first_received_at or now
            message.visible_at = now + self.config.visibility_timeout
            taken.append(message)
        return taken

    def delete(self, message: Message) -> None:
        """The event source mapping deletes a message the function did not report failed."""
        if self.queue.pop(message.message_id, None) is not None:
            self.done.append(message)

    def next_visible(self) -> float | None:
        """When the next hidden message becomes visible."""
        return min((m.visible_at for m in self.queue.values()), default=None)

    def _expire(self, now: float) -> None:
        for message in list(self.queue.values()):
            if now - message.sent_at >= self.config.retention_seconds:
                del self.queue[message.message_id]
                self.expired.append(message)


def lambda_event(messages: list[Message]) -> dict[str, Any]:
    """The event the event source mapping invokes the function with."""
    return {
        "Records": [
            {
                "messageId": m.message_id,
                "receiptHandle": m.receipt,
                "body": m.body,
                "attributes": {
                    "ApproximateReceiveCount": str(m.receives),
                    "SentTimestamp": str(int(m.sent_at * 1000)),
                    "SenderId": "AIDAEXAMPLEEVENTBRIDGE",
                    "ApproximateFirstReceiveTimestamp": str(int((m.first_received_at or 0) * 1000)),
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(m.body.encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": EVENT_ARN,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }
