"""An SQS batch from Lambda, end to end: oldest first -> dispatch -> settle -> partial response.

The core of the Lambda edge for SQS: clients, clock and randomness are passed in, so the tests and
the deploy-wave benchmark run exactly this.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable

from dispatcher.core import dispatch_records
from dispatcher.dedup import Memo
from dispatcher.envelope import Record, read_records
from dispatcher.execute import Clock
from dispatcher.launch import Launcher
from dispatcher.metrics import dispatch_data, lines
from dispatcher.requeue import SqsQueue, carry_out
from dispatcher.resolve import Resolver
from dispatcher.retry import DeadLetter, Uniform, settle
from dispatcher.scancache import ScanCacheTable
from dispatcher.settings import Settings
from dispatcher.sweep.control import Sweeper, handle_control
from dispatcher.sweep.messages import is_sweep_control


def handle_batch(
    raw: object,
    settings: Settings,
    resolver: Resolver,
    *,
    cache: ScanCacheTable,
    launcher: Launcher,
    queue: SqsQueue,
    clock: Clock = time.time,
    memo: Memo | None = None,
    uniform: Uniform = random.uniform,
    emit: Callable[[str], None] | None = None,
    sweeper: Sweeper | None = None,
) -> dict[str, list[dict[str, str]]]:
    """Dispatch the batch, then delay or dead-letter each failed message; Lambda's response.

    The sweep's control messages go to `handle_control` (with `sweeper`) instead of the planner.

    Raises `EventError` only when `raw` is not an envelope at all. `emit` (the Lambda's stdout)
    receives the invocation's metrics as EMF lines.
    """
    # Oldest first: when a build slot frees up, the message that waited longest asks first.
    records = sorted(read_records(raw), key=_sent_at)
    control = [r for r in records if is_sweep_control(r.event)]
    records = [r for r in records if r not in control]
    result = dispatch_records(
        records, settings, resolver, cache=cache, launcher=launcher, clock=clock, memo=memo
    )
    pairs = list(zip(records, result.records, strict=True))
    if control:
        swept = handle_control(control, settings, cache, sweeper, clock=clock)
        pairs += zip(control, swept, strict=True)
    settlements = list(settle(pairs, clock(), settings.max_wait_seconds, uniform))
    failed = carry_out(settlements, queue, settings.dead_letter_queue_url)
    if emit is not None:
        kept = set(failed)  # a dead-letter send that failed was retried instead
        dead = sum(1 for s in settlements if isinstance(s, DeadLetter) and s.record_id not in kept)
        for line in lines(dispatch_data(result.outcomes, dead), int(clock() * 1000)):
            emit(line)
    return {"batchItemFailures": [{"itemIdentifier": i} for i in dict.fromkeys(failed)]}


def _sent_at(record: Record) -> float:
    delivery = record.delivery
    return delivery.sent_at if delivery and delivery.sent_at is not None else math.inf
