"""The sweep's writes to the in-use index (layout: `inuse.py`).

A subclass, not one more mixin of `ScanCacheTable`: only the sweep records where digests run, so
the scan build and the gate, which read the index, carry no dynamodb:BatchWriteItem
(tests/cfn/test_iam.py derives each role's grants from the code it imports).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dispatcher.errors import CacheError
from dispatcher.scancache import ScanCacheTable
from dispatcher.scancache.inuse import (
    MAX_KNOWN_FUNCTIONS,
    MAX_PLACES,
    MAX_UNIT_DIGESTS,
    ROUNDS,
    run_key,
    unit_key,
)
from dispatcher.scancache.table import PARTITION_KEY, STATUS_IN_FLIGHT, TTL_ATTRIBUTE, Table
from dispatcher.scanitems import InUseEntry, KnownFunction, Place, UnitState

_WRITE_BATCH = 25


class SweepCacheTable(ScanCacheTable):
    """The scan-cache table with the sweep's in-use writes."""

    @classmethod
    def over(cls, table: Table) -> SweepCacheTable:
        """The same table and client, with the sweep's writes."""
        return table if isinstance(table, SweepCacheTable) else cls(table._client, table._table)

    def record_unit(
        self,
        account: str,
        region: str,
        entries: Iterable[InUseEntry],
        *,
        now: float,
        keep_seconds: int,
        before: UnitState,
        functions: Mapping[str, KnownFunction],
        complete: bool = True,
    ) -> int:
        """Write this account-region's in-use items; remove those its last sweep (`before`) wrote
        that this one no longer sees, unless the listing was incomplete. Each item lapses
        `keep_seconds` after its sighting. Answers how many items were removed."""
        entries = list(entries)
        seen = {e.digest for e in entries}
        gone = [d for d in before.digests if d not in seen] if complete else []
        requests: list[dict[str, Any]] = [
            {"PutRequest": {"Item": _entry_item(e, keep_seconds)}} for e in entries
        ]
        requests += [
            {"DeleteRequest": {"Key": {PARTITION_KEY: {"S": run_key(d, account, region)}}}}
            for d in gone
        ]
        self._batch_write(requests)
        listed = sorted(seen)[:MAX_UNIT_DIGESTS]
        unit: dict[str, Any] = {
            PARTITION_KEY: {"S": unit_key(account, region)},
            "swept_at": {"N": str(int(now))},
            TTL_ATTRIBUTE: {"N": str(int(now) + keep_seconds)},
        }
        if listed:  # DynamoDB refuses an empty string set
            unit["digests"] = {"SS": listed}
        known = sorted(functions.items())[:MAX_KNOWN_FUNCTIONS]
        unit["functions"] = {"M": {arn: _function_value(f) for arn, f in known}}
        self._batch_write([{"PutRequest": {"Item": unit}}])
        return len(gone)

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        for start in range(0, len(requests), _WRITE_BATCH):
            pending: dict[str, Any] = {self._table: requests[start : start + _WRITE_BATCH]}
            for _ in range(ROUNDS):
                answer = self._call(
                    "BatchWriteItem", self._client.batch_write_item, RequestItems=pending
                )
                pending = answer.get("UnprocessedItems") or {}
                if not pending:
                    break
            else:
                raise CacheError(f"dynamodb:BatchWriteItem on {self._table} left items unwritten")


def _entry_item(entry: InUseEntry, keep_seconds: int) -> dict[str, Any]:
    places = sorted(entry.places, key=lambda p: (-p.tasks, p.kind, p.name))
    item: dict[str, Any] = {
        PARTITION_KEY: {"S": run_key(entry.digest, entry.account, entry.region)},
        "digest": {"S": entry.digest},
        "account": {"S": entry.account},
        "region": {"S": entry.region},
        "image": {"S": entry.image[:1024]},
        "tasks": {"N": str(sum(p.tasks for p in entry.places))},
        "place_count": {"N": str(len(entry.places))},
        "places": {"L": [_place_value(p) for p in places[:MAX_PLACES]]},
        "last_seen": {"N": str(int(entry.last_seen))},
        TTL_ATTRIBUTE: {"N": str(int(entry.last_seen) + keep_seconds)},
    }
    scan = entry.last_scan
    if scan is not None and scan.status != STATUS_IN_FLIGHT:
        item["scan_status"] = {"S": scan.status}
        item["scan_completed_at"] = {"N": str(int(scan.at))}
        item["scan_report_uri"] = {"S": scan.report_uri or "-"}
        item["scan_counts"] = {"M": {k: {"N": str(v)} for k, v in scan.counts.items()}}
        item["scan_vuln_data"] = {"BOOL": scan.vulnerability_data}
    return item


def _function_value(known: KnownFunction) -> dict[str, Any]:
    fields = {"c": known.code_sha256[:128], "i": known.image_uri[:1024], "r": known.resolved_uri}
    return {"M": {k: {"S": v[:1024]} for k, v in fields.items() if v}}


def _place_value(place: Place) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "kind": {"S": place.kind},
        "name": {"S": place.name[:512]},
        "tasks": {"N": str(place.tasks)},
    }
    for name, value in (("launch_type", place.launch_type), ("platform", place.platform)):
        if value:
            fields[name] = {"S": value[:64]}
    return {"M": fields}
