"""One sweep unit end to end: clients in the account -> list -> read the cache -> plan -> index.

No environment reads and no client construction here beyond the injected `UnitClients`; the
Lambda edge, the CLI, the demo and the benchmark pass in settings, cache, clock and sleep.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from dispatcher.aws import assumed_session, role_arn
from dispatcher.errors import CacheError, LookupFailed, aws_error_code
from dispatcher.scancache import ScanCacheTable
from dispatcher.scancache.inusewrites import SweepCacheTable
from dispatcher.settings import Settings
from dispatcher.sweep import plan as p
from dispatcher.sweep.inventory import Lister, Sleep
from dispatcher.sweep.messages import Unit

log = logging.getLogger(__name__)
SESSION_NAME = "deployscan-sweep"
# sts:AssumeRole answers these when the role does not exist or does not trust the dispatcher.
_UNREACHABLE = frozenset({"AccessDenied", "AccessDeniedException", "NoSuchEntity"})


class UnitClients(Protocol):
    """ECS and Lambda clients inside one unit's account and region."""

    def clients(self, unit: Unit) -> tuple[Any, Any]:
        """(ecs, lambda); `LookupFailed(retryable=False)` when the account cannot be entered."""
        ...


class AwsUnitClients:
    """The home account with the dispatcher's own session, members through the read-only role."""

    def __init__(
        self, session: Any, role_name: str | None, home: str, *, factory: Any = None
    ) -> None:
        self._session, self._role, self._home, self._factory = session, role_name, home, factory
        self._sessions: dict[str, Any] = {}

    def clients(self, unit: Unit) -> tuple[Any, Any]:
        """(ecs, lambda) for `unit`, assuming the member role once per account."""
        session = self._session
        if unit.account != self._home:
            if not self._role:
                raise LookupFailed(f"{unit.account}: no CROSS_ACCOUNT_ROLE_NAME", retryable=False)
            session = self._sessions.get(unit.account) or self._enter(unit)
        return (session.client("ecs", region_name=unit.region),
                session.client("lambda", region_name=unit.region))  # fmt: skip

    def _enter(self, unit: Unit) -> Any:
        arn = role_arn(unit.account, self._role or "", unit.region)
        try:
            session = assumed_session(
                self._session, arn, session_name=SESSION_NAME, factory=self._factory
            )
        except LookupFailed as exc:
            code = aws_error_code(exc.__cause__) if exc.__cause__ else ""
            raise LookupFailed(str(exc), retryable=code not in _UNREACHABLE) from exc
        self._sessions[unit.account] = session
        return session


@dataclass(frozen=True)
class UnitResult:
    """What sweeping one unit gave: its lines and images to scan, or why it failed."""

    unit: Unit
    lines: tuple[p.SweepLine, ...] = ()
    events: tuple[dict[str, Any], ...] = ()
    calls: int = 0
    removed: int = 0
    error: str = ""
    retry: bool = False  # the unit must be swept again (SQS retries its message)


def sweep_unit(
    unit: Unit,
    settings: Settings,
    clients: UnitClients,
    cache: ScanCacheTable,
    *,
    sweep_id: str,
    clock: Callable[[], float] = time.time,
    sleep: Sleep = time.sleep,
    dry_run: bool = False,
) -> UnitResult:
    """List the unit, decide per digest, and (unless `dry_run`) record it in the in-use index."""
    try:
        ecs, lam = clients.clients(unit)
        before = cache.unit_state(unit.account, unit.region)
        inventory = Lister(ecs, lam, sleep=sleep).run(before.functions)
        grouped = p.group(unit, inventory.running, settings)
        scans = cache.last_scans(grouped.keys())
        remembered = cache.remembered(unit.account, unit.region, grouped.digests)
    except LookupFailed as exc:
        return _failed(unit, str(exc), retry=exc.retryable)
    except CacheError as exc:
        return _failed(unit, str(exc), retry=True)
    for note in p.inventory_lines(unit, inventory):
        log.warning("sweep: %s", note)
    now = clock()
    planned = p.decide(unit, grouped, scans=scans, remembered=remembered, settings=settings,
                       now=now, sweep_id=sweep_id)  # fmt: skip
    removed = 0
    if not dry_run:
        try:
            removed = SweepCacheTable.over(cache).record_unit(
                unit.account, unit.region, planned.entries, now=now,
                keep_seconds=settings.sweep.in_use_seconds, before=before,
                functions=inventory.functions, complete=inventory.complete,
            )  # fmt: skip
        except CacheError as exc:
            return _failed(unit, str(exc), retry=True)
    return UnitResult(unit, planned.lines, planned.events, inventory.calls, removed)


def _failed(unit: Unit, error: str, *, retry: bool) -> UnitResult:
    reason = p.UNIT_FAILED if retry else p.UNIT_UNREACHABLE
    log.warning("sweep of %s/%s: %s (%s)", unit.account, unit.region, error[:300], reason)
    line = p.SweepLine("skip", None, None, reason, unit.account, unit.region)
    return UnitResult(unit, (line,), error=error[:300], retry=retry)
