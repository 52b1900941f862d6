"""The in-use index: which digests run where (one item per digest and account-region).

A sweep of one account-region owns the items it writes (`run#<digest>#<account>#<region>`) and
one `unit#<account>#<region>` item listing them, so sweeps of different account-regions never
write the same item and need no conditions. Reads here (BatchGetItem of 100 keys, Scan); the
sweep's writes in `inusewrites.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from dispatcher.ddbvalues import counts, not_false, number, text
from dispatcher.errors import CacheError, aws_error_code
from dispatcher.scancache.table import (
    COMPLETED_STATUSES,
    PARTITION_KEY,
    STATUS_ERROR,
    STATUS_IN_FLIGHT,
    TTL_ATTRIBUTE,
    Table,
)
from dispatcher.scanitems import InUseEntry, KnownFunction, LastScan, Place, UnitState

RUN_PREFIX = "run#"
UNIT_PREFIX = "unit#"
MAX_PLACES = 100  # per item; a digest in more places keeps the busiest (the count stays exact)
# What one unit item lists (DynamoDB items stop at 400 KB): digests beyond lapse by TTL only,
# functions beyond are resolved with GetFunction on every sweep.
MAX_UNIT_DIGESTS = 2000
MAX_KNOWN_FUNCTIONS = 500
_GET_BATCH, ROUNDS = 100, 8


def run_key(digest: str, account: str, region: str) -> str:
    """The in-use item of `digest` in one account-region."""
    return f"{RUN_PREFIX}{digest}#{account}#{region}"


def unit_key(account: str, region: str) -> str:
    """The item listing what the last sweep of one account-region recorded."""
    return f"{UNIT_PREFIX}{account}#{region}"


class InUseIndex(Table):
    """Read and record where digests run; read scans whatever their TTL says."""

    def last_scans(self, keys: Iterable[str]) -> dict[str, LastScan]:
        """The last scan recorded under each cache key (absent keys: never scanned or deleted)."""
        found = {}
        for key, item in self._batch_get(keys).items():
            scan = _last_scan(item)
            if scan is not None:
                found[key] = scan
        return found

    def unit_state(self, account: str, region: str) -> UnitState:
        """What the last sweep of this account-region recorded (digests, resolved functions)."""
        item = self._get(unit_key(account, region))
        raw = item.get("digests")
        values = raw.get("SS", []) if isinstance(raw, dict) else []
        raw = item.get("functions")
        known = raw.get("M", {}) if isinstance(raw, dict) else {}
        functions = {}
        for arn, value in known.items():
            fields = value.get("M", {}) if isinstance(value, dict) else {}
            sha, uri = text(fields, "c"), text(fields, "r")
            if isinstance(arn, str) and sha and uri:
                functions[arn] = KnownFunction(sha, text(fields, "i") or "", uri)
        return UnitState(tuple(v for v in values if isinstance(v, str)), functions)

    def remembered(self, account: str, region: str, digests: Iterable[str]) -> dict[str, LastScan]:
        """The scans the in-use items of this account-region remember, per digest."""
        keys = {run_key(d, account, region): d for d in digests}
        out = {}
        for key, item in self._batch_get(keys).items():
            scan = _last_scan(item, prefix="scan_")
            if scan is not None:
                out[keys[key]] = scan
        return out

    def in_use(self, now: float, digest: str | None = None) -> list[InUseEntry]:
        """Every in-use item not yet lapsed (of one digest when given), read with Scan."""
        prefix = f"{RUN_PREFIX}{digest}#" if digest else RUN_PREFIX
        out = []
        for item in self._scan(prefix, now):
            entry = _entry(item)
            if entry is not None:
                out.append(entry)
        return out

    def _batch_get(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), _GET_BATCH):
            pending: dict[str, Any] = {
                self._table: {
                    "Keys": [{PARTITION_KEY: {"S": k}} for k in wanted[start : start + _GET_BATCH]],
                    "ConsistentRead": True,
                }
            }
            for _ in range(ROUNDS):
                answer = self._call(
                    "BatchGetItem", self._client.batch_get_item, RequestItems=pending
                )
                for item in answer.get("Responses", {}).get(self._table, []):
                    found[text(item, PARTITION_KEY) or ""] = item
                pending = answer.get("UnprocessedKeys") or {}
                if not pending:
                    break
            else:
                raise CacheError(f"dynamodb:BatchGetItem on {self._table} left keys unprocessed")
        return found

    def _scan(self, prefix: str, now: float) -> Iterator[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": "begins_with(#pk, :prefix) AND #exp > :now",
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY, "#exp": TTL_ATTRIBUTE},
            "ExpressionAttributeValues": {":prefix": {"S": prefix}, ":now": {"N": str(int(now))}},
        }
        while True:
            answer = self._call("Scan", self._client.scan, **request)
            yield from (i for i in answer.get("Items", []) if isinstance(i, dict))
            last = answer.get("LastEvaluatedKey")
            if not last:
                return
            request["ExclusiveStartKey"] = last

    def _call(self, operation: str, method: Callable[..., Any], **request: Any) -> dict[str, Any]:
        try:
            answer = method(**request)
        except Exception as exc:  # botocore errors, wrapped once at this seam
            raise CacheError(
                f"dynamodb:{operation} on {self._table} failed: {aws_error_code(exc)}"
            ) from exc
        return answer if isinstance(answer, dict) else {}


def _last_scan(item: dict[str, Any], prefix: str = "") -> LastScan | None:
    status = text(item, f"{prefix}status")
    if status not in (*COMPLETED_STATUSES, STATUS_ERROR, STATUS_IN_FLIGHT):
        return None
    if status == STATUS_IN_FLIGHT:
        return LastScan(
            status, number(item, "updated_at"), lease_until=number(item, "lease_expires_at")
        )
    at = number(item, f"{prefix}completed_at") or number(item, f"{prefix}updated_at")
    uri = text(item, f"{prefix}report_uri") or ""
    return LastScan(
        status or "",
        at,
        "" if uri == "-" else uri,
        counts(item, f"{prefix}counts"),
        vulnerability_data=not_false(item, f"{prefix}vuln_data"),
    )


def _entry(item: dict[str, Any]) -> InUseEntry | None:
    digest, account, region = text(item, "digest"), text(item, "account"), text(item, "region")
    if not (digest and account and region):
        return None
    raw = item.get("places", {})
    places = []
    for value in raw.get("L", []) if isinstance(raw, dict) else []:
        fields = value.get("M", {}) if isinstance(value, dict) else {}
        kind, name = text(fields, "kind"), text(fields, "name")
        if kind and name:
            launch, platform = text(fields, "launch_type") or "", text(fields, "platform") or ""
            places.append(Place(kind, name, int(number(fields, "tasks")), launch, platform))
    return InUseEntry(
        digest=digest,
        account=account,
        region=region,
        image=text(item, "image") or "",
        places=tuple(places),
        last_seen=number(item, "last_seen"),
        last_scan=_last_scan(item, prefix="scan_"),
    )
