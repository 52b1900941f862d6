"""Batch verdict reads for the deploy gate: a deploy's images in one BatchGetItem.

A subclass, not one more mixin of `ScanCacheTable`: the dispatcher and the scan build never
batch-read, so their roles do not carry dynamodb:BatchGetItem (tests/cfn/test_iam.py derives each
role's grants from the code it imports).
"""

from __future__ import annotations

from typing import Any

from dispatcher.errors import CacheError, aws_error_code
from dispatcher.scancache import PARTITION_KEY, ScanCacheTable
from dispatcher.scancache.verdicts import read_last
from dispatcher.scanitems import CachedScan

BATCH_LIMIT = 100  # keys per BatchGetItem
_BATCH_ROUNDS = 3


class GateCacheTable(ScanCacheTable):
    """The scan-cache table with the gate's batch read."""

    def last_scans(self, keys: list[str], now: float) -> dict[str, CachedScan | None]:
        """`last_scan` for many keys, in BatchGetItem calls of up to 100 keys."""
        unique = list(dict.fromkeys(keys))
        items: dict[str, dict[str, Any]] = {}
        for start in range(0, len(unique), BATCH_LIMIT):
            items.update(self._get_many(unique[start : start + BATCH_LIMIT]))
        return {key: read_last(key, items.get(key, {}), now) for key in unique}

    def _get_many(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """key -> item for up to 100 keys in one BatchGetItem (consistent); absent keys are
        missing from the answer. Unprocessed keys are asked again a few times."""
        found: dict[str, dict[str, Any]] = {}
        wanted = [{PARTITION_KEY: {"S": key}} for key in dict.fromkeys(keys)]
        for _ in range(_BATCH_ROUNDS):
            if not wanted:
                return found
            request = {self._table: {"Keys": wanted, "ConsistentRead": True}}
            try:
                response = self._client.batch_get_item(RequestItems=request)
            except Exception as exc:  # botocore errors, wrapped once at this seam
                raise CacheError(
                    f"cannot read the scan cache {self._table}: {aws_error_code(exc)}"
                ) from exc
            for item in response.get("Responses", {}).get(self._table, []):
                key = item.get(PARTITION_KEY, {}).get("S") if isinstance(item, dict) else None
                if isinstance(key, str):
                    found[key] = item
            wanted = response.get("UnprocessedKeys", {}).get(self._table, {}).get("Keys", [])
        if wanted:
            raise CacheError(f"the scan cache {self._table} left {len(wanted)} key(s) unread")
        return found
