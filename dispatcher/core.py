"""The dispatcher's one core entry: raw input -> records -> plan -> execute -> per-record outcome.

No environment reads and no client construction here: the Lambda handler, the CLI and the demo
pass in the settings, the resolver, the scan cache, the launcher and the clock.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from dispatcher import model as m
from dispatcher.dedup import Memo
from dispatcher.envelope import Record, read_records
from dispatcher.execute import Clock, execute
from dispatcher.launch import Launcher
from dispatcher.logs import DECISION_LOGGER
from dispatcher.plan import plan
from dispatcher.resolve import Resolver
from dispatcher.scancache import ScanCacheTable
from dispatcher.settings import Settings

log = logging.getLogger(DECISION_LOGGER)


@dataclass(frozen=True)
class RecordOutcome:
    """What happened to one record; `failed` records are retried by SQS."""

    record_id: str
    outcomes: tuple[m.Result, ...]

    @property
    def failed(self) -> bool:
        """True when any of the record's items must be retried."""
        return any(isinstance(o, m.Skip) and o.retry for o in self.outcomes)


@dataclass(frozen=True)
class DispatchResult:
    """Per-record outcomes, in input order."""

    records: tuple[RecordOutcome, ...]

    @property
    def outcomes(self) -> list[m.Result]:
        """Every decision or outcome, in order."""
        return [o for r in self.records for o in r.outcomes]

    def batch_item_failures(self) -> list[dict[str, str]]:
        """The Lambda partial-batch response entries (one per failed SQS message)."""
        seen: dict[str, None] = {r.record_id: None for r in self.records if r.failed}
        return [{"itemIdentifier": record_id} for record_id in seen]


def dispatch(raw: object, settings: Settings, resolver: Resolver, **options: Any) -> DispatchResult:
    """Read any envelope, plan, and (unless `dry_run`) execute; log one JSON line per decision.

    Takes `dispatch_records`' options; raises `EventError` only when `raw` is not an envelope.
    """
    return dispatch_records(read_records(raw), settings, resolver, **options)


def dispatch_records(
    records: list[Record],
    settings: Settings,
    resolver: Resolver,
    *,
    cache: ScanCacheTable | None = None,
    launcher: Launcher | None = None,
    clock: Clock = time.time,
    memo: Memo | None = None,
    dry_run: bool = False,
) -> DispatchResult:
    """`dispatch` for records already read; the result's records are in the same order."""
    decisions = plan(records, settings, resolver)
    if dry_run:
        outcomes: list[m.Result] = list(decisions)
    else:
        if cache is None or launcher is None:
            raise ValueError("executing needs a scan cache and a launcher")
        arrivals = {
            r.record_id: r.delivery.sent_at
            for r in records
            if r.delivery is not None and r.delivery.sent_at is not None
        }
        outcomes = [
            *execute(decisions, settings, cache, launcher, clock, memo=memo, arrivals=arrivals)
        ]
    by_record: dict[int, list[m.Result]] = {index: [] for index in range(len(records))}
    index_of: dict[str, int] = {}
    for index, record in enumerate(records):
        index_of.setdefault(record.record_id, index)
    for outcome in outcomes:
        by_record[index_of[_origin(outcome).record_id]].append(outcome)
        _log(outcome)
    return DispatchResult(
        tuple(RecordOutcome(r.record_id, tuple(by_record[i])) for i, r in enumerate(records))
    )


def _origin(outcome: m.Result) -> m.Origin:
    return outcome.build.origin if isinstance(outcome, m.Started) else outcome.origin


def _log(outcome: m.Result) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    fields = m.decision_line(outcome)
    fields["record"] = _origin(outcome).record_id
    fields.update(m.tier_fields(outcome))
    if isinstance(outcome, m.Started):
        fields["build_id"] = outcome.build_id
    elif isinstance(outcome, m.Skip):
        fields["detail"] = outcome.detail or None
        fields["retry"] = outcome.retry
    log.info("decision", extra={"fields": fields})
