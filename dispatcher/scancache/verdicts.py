"""Verdicts: a finished scan's record, and the lookup that answers whether it still counts."""

from __future__ import annotations

from typing import Any

from dispatcher.ddbvalues import counts, iso, not_false, number, text
from dispatcher.scancache.table import (
    COMPLETED_STATUSES,
    PARTITION_KEY,
    STATUS_ERROR,
    STATUS_IN_FLIGHT,
    TTL_ATTRIBUTE,
    Table,
    attribute_names,
)
from dispatcher.scanitems import CachedScan, Verdict


class Verdicts(Table):
    """Record a scan's verdict; look up the record that suppresses a build."""

    def record(self, key: str, verdict: Verdict, *, now: float, keep_seconds: int) -> None:
        """Write a finished scan's verdict; it suppresses rescans for `keep_seconds` (0: none)."""
        epoch = int(now)
        counts = {s: {"N": str(n)} for s, n in verdict.counts.items()}
        values = {
            ":status": {"S": verdict.status},
            ":expires": {"N": str(epoch + max(0, keep_seconds))},
            ":counts": {"M": counts},
            ":uri": {"S": verdict.report_uri or "-"},
            ":now": {"N": str(epoch)},
            ":build": {"S": verdict.build_id or "local"},
            ":image": {"S": verdict.image[:1024]},
            ":vd": {"BOOL": verdict.vulnerability_data},
            ":rsn": {"S": verdict.reason[:1000] or "-"},
        }
        tier = ", #tier = :tier" if verdict.compute_tier else ""
        if tier:
            values[":tier"] = {"S": verdict.compute_tier}
        expression = (
            "SET #st = :status, #exp = :expires, #cnt = :counts, #uri = :uri, #done = :now, "
            f"#upd = :now, #bid = :build, #img = :image, #vd = :vd, #rsn = :rsn{tier} REMOVE #lease"
        )
        self._write(
            "UpdateItem",
            key,
            Key={PARTITION_KEY: {"S": key}},
            UpdateExpression=expression,
            ExpressionAttributeNames=attribute_names(expression),
            ExpressionAttributeValues=values,
        )

    def lookup(self, key: str, now: float) -> CachedScan | None:
        """The item for `key` while it still suppresses a build (completed or in flight)."""
        return _live(key, self._get(key), now)


def read_last(key: str, item: dict[str, Any], now: float) -> CachedScan | None:
    """As `lookup`, for an item already read (empty: none), but a scan that ended in `error` is
    answered too (it never suppresses a build, so `lookup` hides it): the gate answers it per
    GATE_ON_ERROR."""
    if text(item, "status") == STATUS_ERROR:
        return _scan(key, item, STATUS_ERROR, text(item, "completed_at"))
    return _live(key, item, now)


def _live(key: str, item: dict[str, Any], now: float) -> CachedScan | None:
    """The item while it suppresses a build: completed and unexpired, or leased in flight."""
    status = text(item, "status")
    if status in COMPLETED_STATUSES:
        live, stamp = number(item, TTL_ATTRIBUTE) > now, text(item, "completed_at")
    elif status == STATUS_IN_FLIGHT:
        live = number(item, "lease_expires_at") > now
        stamp = text(item, "updated_at")
    else:
        return None
    if not live:
        return None
    return _scan(key, item, status or "", stamp)


def _scan(key: str, item: dict[str, Any], status: str, stamp: str | None) -> CachedScan:
    return CachedScan(
        key=key,
        status=status,
        when=iso(stamp or text(item, "updated_at")),
        build_id=text(item, "build_id"),
        report_uri=text(item, "report_uri"),
        counts=counts(item, "counts"),
        vulnerability_data=not_false(item, "vuln_data"),
        completed_at=number(item, "completed_at"),
        reason=(text(item, "reason") or "").removeprefix("-")[:1000],
    )
