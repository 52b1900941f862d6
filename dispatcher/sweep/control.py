"""The dispatcher Lambda's handling of the sweep's control messages (requested, unit, posture).

Each message is one SQS record: its outcome is a `RecordOutcome` like a deploy event's, so a unit
that must be swept again is retried by SQS with the same backoff, and poison dead-lettered.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dispatcher import model as m
from dispatcher.buildvars import ACCOUNT_RE, REGION_RE
from dispatcher.core import RecordOutcome
from dispatcher.envelope import Record
from dispatcher.errors import DeployscanError
from dispatcher.events import obj, text
from dispatcher.logs import DECISION_LOGGER
from dispatcher.scancache import ScanCacheTable
from dispatcher.settings import SWEEP_TRIGGER, Settings
from dispatcher.sweep import posture
from dispatcher.sweep.core import UnitClients, sweep_unit
from dispatcher.sweep.inventory import Sleep
from dispatcher.sweep.messages import SWEEP_REQUESTED, SWEEP_UNIT, Unit
from dispatcher.sweep.status import read_rows
from dispatcher.sweep.units import enqueue_images, fan_out, scope

log = logging.getLogger(DECISION_LOGGER)
SWEPT = "swept"
FAILED = "sweep-failed"


@dataclass(frozen=True)
class Sweeper:
    """What handling sweep messages needs besides the scan cache: clients and the home account."""

    clients: UnitClients
    home: str
    sqs: Any
    s3: Any


def handle_control(
    records: Iterable[Record],
    settings: Settings,
    cache: ScanCacheTable,
    sweeper: Sweeper | None,
    *,
    clock: Any = time.time,
    sleep: Sleep = time.sleep,
) -> list[RecordOutcome]:
    """One outcome per control record, in order; a failed one is retried by SQS (all of them
    when there is no `sweeper`)."""
    run = _Control(settings, cache, sweeper, clock, sleep) if sweeper is not None else None
    out = []
    for record in records:
        origin = m.Origin(record.record_id, trigger=SWEEP_TRIGGER)
        try:
            if run is None:  # e.g. the home account is unknown for now: wait and come back
                raise DeployscanError("the sweep cannot run here now")
            skip = run.handle(record, origin)
        except DeployscanError as exc:
            skip = m.Skip(origin, FAILED, detail=str(exc)[:300], retry=True)
        log.info("sweep", extra={"fields": {**m.decision_line(skip), "detail": skip.detail,
                                            "retry": skip.retry}})  # fmt: skip
        out.append(RecordOutcome(record.record_id, (skip,)))
    return out


@dataclass(frozen=True)
class _Control:
    settings: Settings
    cache: ScanCacheTable
    sweeper: Sweeper
    clock: Any
    sleep: Sleep

    def handle(self, record: Record, origin: m.Origin) -> m.Skip:
        event = record.event or {}
        detail, kind = obj(event, "detail"), event.get("detail-type")
        sweep_id = text(detail, "sweep") or text(event, "id") or f"sweep-{int(self.clock())}"
        queue = self.settings.sweep.queue_url
        if kind in (SWEEP_REQUESTED, SWEEP_UNIT) and not queue:
            return m.Skip(origin, FAILED, detail="EVENT_QUEUE_URL is not set", retry=True)
        if kind == SWEEP_REQUESTED:
            units = scope(self.settings, self.sweeper.home)
            sent = fan_out(units, self.sweeper.sqs, queue or "", sweep_id[:64])
            return m.Skip(origin, SWEPT, detail=f"{sent} account-region unit(s) queued")
        if kind == SWEEP_UNIT:
            return self.unit(record, detail, queue or "", sweep_id[:64])
        return self.posture(origin)

    def unit(self, record: Record, detail: dict[str, Any], queue: str, sweep_id: str) -> m.Skip:
        account, region = text(detail, "account") or "", text(detail, "region") or ""
        origin = m.Origin(record.record_id, SWEEP_TRIGGER, account[:12], region[:32])
        if not (ACCOUNT_RE.match(account) and REGION_RE.match(region)):
            return m.Skip(origin, m.INVALID_EVENT, detail="no valid account and region",
                          retry=True)  # fmt: skip
        result = sweep_unit(Unit(account, region), self.settings, self.sweeper.clients,
                            self.cache, sweep_id=sweep_id, clock=self.clock,
                            sleep=self.sleep)  # fmt: skip
        for line in result.lines:
            log.info("sweep", extra={"fields": {**line.to_dict(), "record": record.record_id}})
        if result.error:
            reason = result.lines[0].reason if result.lines else FAILED
            return m.Skip(origin, reason, detail=result.error, retry=result.retry)
        sent = enqueue_images(self.sweeper.sqs, queue, result.events)
        running = sum(1 for line in result.lines if line.digest)
        return m.Skip(origin, SWEPT, detail=f"{running} running digest(s), {sent} to scan")

    def posture(self, origin: m.Origin) -> m.Skip:
        now = self.clock()
        rows = read_rows(self.cache, now)
        sweep = self.settings.sweep
        if sweep.report_bucket:
            link = posture.s3_link(sweep.report_bucket, sweep.report_prefix)
            doc = posture.document(rows, now, link)
            posture.write_s3(self.sweeper.s3, sweep.report_bucket, sweep.report_prefix, doc)
        return m.Skip(origin, SWEPT, detail=f"posture of {len(rows)} running digest(s)")
