"""Where tests catch deployscan's EventBridge events: an SQS queue fed by a rule on moto, and the
check of each event against the published schema (docs/events.schema.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs; a test dependency only

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[1] / "docs" / "events.schema.json").read_text()
)


def validate_event(event: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError unless `event` matches the published schema."""
    jsonschema.Draft202012Validator(SCHEMA).validate(event)


def rule_queue(
    events: Any,
    sqs: Any,
    queue: str,
    pattern: dict[str, Any],
    *,
    rule: str,
    buses: tuple[str, ...] = ("default",),
    target: dict[str, Any] | None = None,
) -> str:
    """Create SQS queue `queue` and, on each of `buses`, a rule matching `pattern` that targets it
    (`target` adds to the target, e.g. its Id or an InputTransformer); the queue URL."""
    url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    arn = attributes["Attributes"]["QueueArn"]
    for bus in buses:
        name = rule if len(buses) == 1 else f"{rule}-{bus}"
        events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))
        events.put_targets(
            Rule=name, EventBusName=bus, Targets=[{"Id": "q", **(target or {}), "Arn": arn}]
        )
    return url


def received(sqs: Any, url: str) -> list[dict[str, Any]]:
    """The bodies (parsed JSON) of the messages waiting in the queue, up to ten."""
    answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in answer.get("Messages", [])]
