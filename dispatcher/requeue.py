"""Carrying out a batch's settlements on SQS: delay a waiting message, dead-letter poison.

`SqsQueue` is the seam over an injected boto3 SQS client (tests use moto or a Stubber; the
wave benchmark an emulated queue). A settlement whose SQS call fails falls back to a plain batch
item failure: the message comes back after the queue's visibility timeout and is settled again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from dispatcher.errors import QueueError, aws_error_code
from dispatcher.retry import DeadLetter, Retry, Settlement, Wait

log = logging.getLogger(__name__)
ATTRIBUTE_PREFIX = "deployscan-"  # message attributes of a dead-lettered message


class SqsQueue:
    """The two SQS calls that settle a message, over an injected boto3 SQS client."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def delay(self, queue_url: str, receipt_handle: str, seconds: int) -> None:
        """`sqs:ChangeMessageVisibility`: hide the received message for `seconds` from now."""
        try:
            self._client.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )
        except Exception as exc:  # botocore errors, wrapped once at this seam
            raise QueueError(f"ChangeMessageVisibility failed: {aws_error_code(exc)}") from exc

    def dead_letter(self, queue_url: str, body: str, attributes: Mapping[str, str]) -> None:
        """`sqs:SendMessage` of the original body to the dead-letter queue, with why."""
        try:
            self._client.send_message(
                QueueUrl=queue_url,
                MessageBody=body,
                MessageAttributes={
                    ATTRIBUTE_PREFIX + name: {"DataType": "String", "StringValue": value}
                    for name, value in attributes.items()
                },
            )
        except Exception as exc:  # botocore errors, wrapped once at this seam
            code = aws_error_code(exc)
            raise QueueError(f"SendMessage to the dead-letter queue failed: {code}") from exc


def carry_out(
    settlements: Iterable[Settlement], queue: SqsQueue, dead_letter_url: str | None
) -> list[str]:
    """Make the SQS calls; the record ids to report as batch item failures, in order."""
    failed: list[str] = []
    for item in settlements:
        try:
            if isinstance(item, Wait):
                url = queue_url(item.delivery.queue_arn)
                if url is None or item.delivery.receipt_handle is None:
                    raise QueueError("the record names no queue or receipt handle")
                queue.delay(url, item.delivery.receipt_handle, item.seconds)
                failed.append(item.record_id)
            elif isinstance(item, DeadLetter):
                if not dead_letter_url:
                    raise QueueError("DEAD_LETTER_QUEUE_URL is not set")
                queue.dead_letter(dead_letter_url, item.delivery.body, _why(item))
            else:
                failed.append(item.record_id)
            _log(item)
        except QueueError as exc:
            log.warning("could not settle %s: %s", item.record_id, exc)
            _log(Retry(item.record_id, item.reason))
            failed.append(item.record_id)
    return failed


def queue_url(arn: str | None) -> str | None:
    """The URL of a queue from its ARN (`arn:<partition>:sqs:<region>:<account>:<name>`)."""
    parts = (arn or "").split(":")
    if len(parts) != 6 or parts[2] != "sqs" or not all(parts[3:]):
        return None
    domain = "amazonaws.com.cn" if parts[1] == "aws-cn" else "amazonaws.com"
    return f"https://sqs.{parts[3]}.{domain}/{parts[4]}/{parts[5]}"


def _why(item: DeadLetter) -> dict[str, str]:
    delivery = item.delivery
    why = {
        "reason": item.reason,
        "detail": item.detail[:256] or "-",
        "message-id": item.record_id[:128],
        "receive-count": str(delivery.receive_count),
    }
    if delivery.queue_arn:
        why["source-queue"] = delivery.queue_arn[:256]
    return why


def _log(item: Settlement) -> None:
    fields: dict[str, Any] = {"record": item.record_id, "reason": item.reason}
    if isinstance(item, Wait):
        fields |= {"action": "wait", "seconds": item.seconds}
        fields["receive_count"] = item.delivery.receive_count
    elif isinstance(item, DeadLetter):
        fields |= {"action": "dead-letter", "detail": item.detail[:300]}
    else:
        fields["action"] = "retry"
    log.info("settle", extra={"fields": fields})
