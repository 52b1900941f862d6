"""A whole sweep in one process (`deployscan sweep`, the demo, the benchmark): every unit, then
the images to scan through the normal dispatch path, then the posture page."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dispatcher import model as m
from dispatcher.core import dispatch_records
from dispatcher.dedup import Memo
from dispatcher.envelope import Record
from dispatcher.launch import Launcher
from dispatcher.resolve import Resolver
from dispatcher.scancache import ScanCacheTable
from dispatcher.settings import Settings
from dispatcher.sweep.core import UnitClients, UnitResult, sweep_unit
from dispatcher.sweep.inventory import Sleep
from dispatcher.sweep.messages import Unit
from dispatcher.sweep.plan import SweepLine


@dataclass(frozen=True)
class SweepRun:
    """Every unit's result and what dispatching its images gave."""

    units: tuple[UnitResult, ...]
    outcomes: tuple[m.Result, ...] = ()

    @property
    def lines(self) -> list[SweepLine]:
        """Every unit's lines, in unit order."""
        return [line for unit in self.units for line in unit.lines]

    @property
    def retry(self) -> bool:
        """True when a unit, or a scan it asked for, would be retried."""
        waiting = any(isinstance(o, m.Skip) and o.retry for o in self.outcomes)
        return waiting or any(u.retry for u in self.units)

    @property
    def started(self) -> list[m.Started]:
        """The builds this sweep started."""
        return [o for o in self.outcomes if isinstance(o, m.Started)]


def run_sweep(
    units: Sequence[Unit],
    settings: Settings,
    clients: UnitClients,
    cache: ScanCacheTable,
    *,
    resolver: Resolver,
    launcher: Launcher | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Sleep = time.sleep,
    dry_run: bool = False,
    memo: Memo | None = None,
) -> SweepRun:
    """Sweep each unit; unless `dry_run`, record the index and dispatch the images to scan."""
    sweep_id = f"sweep-{int(clock())}"
    results = tuple(
        sweep_unit(
            u,
            settings,
            clients,
            cache,
            sweep_id=sweep_id,
            clock=clock,
            sleep=sleep,
            dry_run=dry_run,
        )
        for u in units
    )
    if dry_run:
        return SweepRun(results)
    records = [Record(str(e["id"]), e) for r in results for e in r.events]
    if not records:
        return SweepRun(results)
    dispatched = dispatch_records(records, settings, resolver, cache=cache, launcher=launcher,
                                  clock=clock, memo=memo or Memo())  # fmt: skip
    return SweepRun(results, tuple(dispatched.outcomes))
