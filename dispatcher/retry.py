"""Settling an SQS batch: what happens to each message the dispatcher could not finish.

Pure planning, no AWS call. Poison (a record that can never be dispatched) goes to the
dead-letter queue at once. Any other failure (StartBuild refused for capacity, throttling, an
unavailable table or lookup) waits: the message stays hidden for a backoff and comes back. The
budget is time, not receives: a message older than MAX_WAIT_HOURS goes to the dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from dispatcher import model as m
from dispatcher.core import RecordOutcome
from dispatcher.envelope import Delivery, Record

# cfn/scanner.yaml's EventQueue maxReceiveCount (a test compares). Waits are paced to use at most
# RECEIVE_BUDGET receives within MAX_WAIT_HOURS; the rest is for receives the dispatcher does not
# settle (a crashed or timed-out invocation, a failed ChangeMessageVisibility).
QUEUE_MAX_RECEIVES = 1000
RECEIVE_BUDGET = 900
# Order comes from the capacity line (dispatcher.execute), not from the waits: every waiting
# message asks again after about a minute or two, so a freed build slot is taken within seconds.
BASE_WAIT_SECONDS = 60.0
JITTER = 0.4  # up to +40%: messages refused together must not come back together
MAX_VISIBILITY_SECONDS = 12 * 3600 - 60  # SQS's limit, counted from the receive

Uniform = Callable[[float, float], float]


@dataclass(frozen=True)
class Wait:
    """Hide the message for `seconds` and report it failed; it comes back then."""

    record_id: str
    delivery: Delivery
    seconds: int
    reason: str


@dataclass(frozen=True)
class DeadLetter:
    """Send the message to the dead-letter queue and let Lambda delete it from the queue."""

    record_id: str
    delivery: Delivery
    reason: str
    detail: str


@dataclass(frozen=True)
class Retry:
    """Report the message failed and leave it to the queue (no SQS metadata to do better)."""

    record_id: str
    reason: str


Settlement = Wait | DeadLetter | Retry
WAIT_EXPIRED = "wait-expired"


def settle(
    records: Iterable[tuple[Record, RecordOutcome]],
    now: float,
    max_wait_seconds: float,
    uniform: Uniform,
) -> list[Settlement]:
    """One settlement per failed record, in order; finished records need none."""
    out: list[Settlement] = []
    for record, outcome in records:
        retried = [o for o in outcome.outcomes if isinstance(o, m.Skip) and o.retry]
        if not retried:
            continue
        poison = next((o for o in retried if o.reason in m.POISON_REASONS), None)
        reason = (poison or _most_telling(retried)).reason
        delivery = record.delivery
        if delivery is None:
            out.append(Retry(record.record_id, reason))
        elif poison is not None:
            out.append(DeadLetter(record.record_id, delivery, reason, poison.detail))
        else:
            age = max(0.0, now - delivery.sent_at) if delivery.sent_at is not None else 0.0
            if age >= max_wait_seconds:
                detail = f"still {reason} after {age / 3600:.1f} h"
                out.append(DeadLetter(record.record_id, delivery, WAIT_EXPIRED, detail))
            else:
                seconds = wait_seconds(age, delivery.receive_count, max_wait_seconds, uniform)
                out.append(Wait(record.record_id, delivery, seconds, reason))
    return out


def wait_seconds(age: float, receive_count: int, max_wait_seconds: float, uniform: Uniform) -> int:
    """How long a waiting message stays hidden: a jittered minute or more, paced.

    Paced: never so short that waiting out the rest of the budget would take more receives than
    RECEIVE_BUDGET leaves, so SQS's redrive never takes a waiting message to the DLQ. The pace
    grows as the message uses up receives faster than its budget.
    """
    paced = max(0.0, max_wait_seconds - age) / max(1, RECEIVE_BUDGET - receive_count)
    seconds = max(BASE_WAIT_SECONDS, paced) * uniform(1, 1 + JITTER)
    return round(min(MAX_VISIBILITY_SECONDS, seconds))


def _most_telling(retried: list[m.Skip]) -> m.Skip:
    """Capacity first: a record with one image refused for capacity waits for capacity."""
    return next((o for o in retried if o.reason in m.CAPACITY_REASONS), retried[0])
