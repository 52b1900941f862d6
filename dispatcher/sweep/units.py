"""A sweep's scope and its fan-out: one queue message per account-region, images to the queue."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from dispatcher.errors import QueueError, aws_error_code
from dispatcher.settings import Settings
from dispatcher.sweep.messages import SWEEP_POSTURE, Unit, message, unit_message

SEND_BATCH = 10  # SendMessageBatch takes at most 10 entries
# The posture page is rewritten this long after a sweep fans out (SQS's longest delay), when the
# units have run; each later unit's images are scanned meanwhile and show on the next page.
POSTURE_DELAY_SECONDS = 900


def scope(
    settings: Settings,
    home: str,
    *,
    accounts: Sequence[str] = (),
    regions: Sequence[str] = (),
) -> list[Unit]:
    """The units of a sweep: home + member accounts x regions, narrowed to `accounts`/`regions`
    when given (a person's `--account`/`--region`, which may also name ones not configured)."""
    every = list(dict.fromkeys([home, *settings.sweep.accounts]))
    in_regions = list(settings.sweep.regions) or ([settings.region] if settings.region else [])
    chosen_accounts = list(dict.fromkeys(accounts)) or every
    chosen_regions = list(dict.fromkeys(regions)) or in_regions
    return [Unit(a, r) for a in chosen_accounts for r in chosen_regions]


def fan_out(units: Iterable[Unit], sqs: Any, queue_url: str, sweep_id: str) -> int:
    """Send one `Sweep Unit` message per unit, then the delayed `Sweep Posture`; the count."""
    bodies = [unit_message(u, sweep_id) for u in units]
    send(sqs, queue_url, bodies)
    posture = message(SWEEP_POSTURE, {"sweep": sweep_id}, event_id=f"{sweep_id}-posture")
    send(sqs, queue_url, [posture], delay=POSTURE_DELAY_SECONDS)
    return len(bodies)


def enqueue_images(sqs: Any, queue_url: str, events: Iterable[dict[str, Any]]) -> int:
    """Send each `Sweep Image` event as its own message: the normal dispatch path takes it."""
    bodies = [json.dumps(e, separators=(",", ":"), sort_keys=True) for e in events]
    send(sqs, queue_url, bodies)
    return len(bodies)


def send(sqs: Any, queue_url: str, bodies: Sequence[str], *, delay: int = 0) -> None:
    """SendMessageBatch in tens; `QueueError` when any message was not accepted."""
    for start in range(0, len(bodies), SEND_BATCH):
        entries = [
            {"Id": str(i), "MessageBody": body, **({"DelaySeconds": delay} if delay else {})}
            for i, body in enumerate(bodies[start : start + SEND_BATCH])
        ]
        try:
            answer = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        except Exception as exc:  # botocore errors, wrapped once at this seam
            raise QueueError(f"sqs:SendMessageBatch failed: {aws_error_code(exc)}") from exc
        failed = answer.get("Failed") if isinstance(answer, dict) else None
        if failed:
            raise QueueError(f"sqs:SendMessageBatch refused {len(failed)} message(s)")
