"""Batch verdict reads for the deploy gate: a deploy's images in one BatchGetItem."""

from __future__ import annotations

from dispatcher.scancache import ScanCacheTable
from dispatcher.scancache.verdicts import read_last
from dispatcher.scanitems import CachedScan


class GateCacheTable(ScanCacheTable):
    """The scan-cache table with the gate's batch read of verdicts as they count now."""

    def gate_scans(self, keys: list[str], now: float) -> dict[str, CachedScan | None]:
        """`read_last` for many keys, in BatchGetItem calls of up to 100 keys (consistent)."""
        unique = list(dict.fromkeys(keys))
        items = self._batch_get(unique)
        return {key: read_last(key, items.get(key, {}), now) for key in unique}
