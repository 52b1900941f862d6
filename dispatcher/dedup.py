"""Deduplication by digest in the scan-cache table: in-flight leases and completed-scan TTLs.

`ScanCache` is the interface the executor uses; `DynamoScanCache` implements it over an injected
boto3 DynamoDB client with one conditional put per image, following `dispatcher.scancache`.
`Memo` is a short-lived in-memory record of keys already held, so duplicates inside one warm
Lambda cost no call at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from dispatcher import scancache as sc
from dispatcher.errors import DeployscanError, aws_error_code
from dispatcher.model import ALREADY_SCANNED, SCAN_IN_PROGRESS

# Free: no item; or its TTL passed (an expired lease or an expired completed scan); or its
# in-flight lease expired (crashed build); or the last scan ended in error; or the completed scan
# is older than this dispatcher's CACHE_TTL_HOURS.
TAKE_CONDITION = (
    "attribute_not_exists(#pk) OR #exp < :now OR #st = :error "
    "OR (#st = :inflight AND #lease < :now) OR #done < :stale"
)


class CacheError(DeployscanError):
    """The scan-cache table could not be read or written; the record must be retried."""


@dataclass(frozen=True)
class Held:
    """Someone else holds the key: a build in flight, or a completed scan still fresh."""

    key: str
    reason: str  # ALREADY_SCANNED | SCAN_IN_PROGRESS
    # False: an in-flight lease with no build id yet. Its holder is between the lease and
    # StartBuild, or crashed there; the event must come back later instead of being dropped.
    settled: bool = True


class ScanCache(Protocol):
    """Leases on scan-cache items."""

    def acquire(
        self, key: str, *, image: str, lease_id: str, now: float, seconds: int, ttl: int
    ) -> Held | None:
        """Lease the key for `seconds` unless held or scanned less than `ttl` seconds ago.

        None when the lease is ours, `Held` when someone else has it.
        """
        ...

    def started(self, key: str, lease_id: str, build_id: str, now: float, seconds: int) -> None:
        """Record the build id on our lease and extend it to `seconds` from now (best effort)."""
        ...

    def release(self, key: str, lease_id: str) -> None:
        """Give the key back, only if the lease is still ours and still in flight."""
        ...


class DynamoScanCache:
    """`ScanCache` over a DynamoDB table with the `dispatcher.scancache` layout."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def acquire(
        self, key: str, *, image: str, lease_id: str, now: float, seconds: int, ttl: int
    ) -> Held | None:
        """One conditional put; the old item on failure says why (no extra read)."""
        expires = int(now) + seconds
        item = {
            sc.PARTITION_KEY: {"S": key},
            "status": {"S": sc.STATUS_IN_FLIGHT},
            "lease_id": {"S": lease_id},
            "lease_expires_at": {"N": str(expires)},
            sc.TTL_ATTRIBUTE: {"N": str(expires)},
            "image": {"S": image[:1024]},
            "updated_at": {"N": str(int(now))},
        }
        refused = self._conditional(
            self._client.put_item,
            "PutItem",
            key,
            TableName=self._table,
            Item=item,
            ConditionExpression=TAKE_CONDITION,
            ExpressionAttributeNames={
                "#pk": sc.PARTITION_KEY,
                "#exp": sc.TTL_ATTRIBUTE,
                "#st": "status",
                "#lease": "lease_expires_at",
                "#done": "completed_at",
            },
            ExpressionAttributeValues={
                ":now": {"N": str(int(now))},
                ":stale": {"N": str(int(now) - ttl)},
                ":error": {"S": sc.STATUS_ERROR},
                ":inflight": {"S": sc.STATUS_IN_FLIGHT},
            },
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        if refused is None:
            return None
        old = getattr(refused, "response", {}).get("Item", {})
        status = old.get("status", {}).get("S")
        if status in sc.COMPLETED_STATUSES:
            return Held(key, ALREADY_SCANNED)
        return Held(key, SCAN_IN_PROGRESS, settled="build_id" in old)

    def started(self, key: str, lease_id: str, build_id: str, now: float, seconds: int) -> None:
        """Set `build_id` and the full lease while the lease is ours; a runner's result stays."""
        self._conditional(
            self._client.update_item,
            "UpdateItem",
            key,
            TableName=self._table,
            Key={sc.PARTITION_KEY: {"S": key}},
            UpdateExpression=(
                "SET build_id = :b, updated_at = :now, lease_expires_at = :exp, #exp = :exp"
            ),
            ConditionExpression="lease_id = :l AND #st = :inflight",
            ExpressionAttributeNames={"#st": "status", "#exp": sc.TTL_ATTRIBUTE},
            ExpressionAttributeValues={
                ":b": {"S": build_id},
                ":now": {"N": str(int(now))},
                ":exp": {"N": str(int(now) + seconds)},
                ":l": {"S": lease_id},
                ":inflight": {"S": sc.STATUS_IN_FLIGHT},
            },
        )

    def release(self, key: str, lease_id: str) -> None:
        """Delete the item only while it is our in-flight lease."""
        self._conditional(
            self._client.delete_item,
            "DeleteItem",
            key,
            TableName=self._table,
            Key={sc.PARTITION_KEY: {"S": key}},
            ConditionExpression="lease_id = :l AND #st = :inflight",
            ExpressionAttributeNames={"#st": "status"},
            ExpressionAttributeValues={
                ":l": {"S": lease_id},
                ":inflight": {"S": sc.STATUS_IN_FLIGHT},
            },
        )

    @staticmethod
    def _conditional(
        method: Callable[..., Any], operation: str, key: str, **request: Any
    ) -> Exception | None:
        """Send one conditional write; the refusal when its condition failed, else None.

        Any other error is a `CacheError`: the record is retried, nothing is built unguarded.
        """
        try:
            method(**request)
        except Exception as exc:  # botocore errors, wrapped once at this seam
            if aws_error_code(exc) != "ConditionalCheckFailedException":
                raise CacheError(
                    f"dynamodb:{operation} on {key} failed: {aws_error_code(exc)}"
                ) from exc
            return exc
        return None


class Memo:
    """Keys known to be held, remembered for `seconds` (default 60) inside one warm process."""

    def __init__(self, seconds: float = 60.0) -> None:
        self._seconds = seconds
        self._held: dict[str, tuple[float, str]] = {}

    def get(self, key: str, now: float) -> str | None:
        """The remembered reason, while fresh."""
        entry = self._held.get(key)
        if entry is None or entry[0] < now:
            return None
        return entry[1]

    def put(self, key: str, reason: str, now: float) -> None:
        """Remember that `key` is held for `reason`."""
        if len(self._held) > 10_000:
            self._held = {k: v for k, v in self._held.items() if v[0] >= now}
        self._held[key] = (now + self._seconds, reason)
