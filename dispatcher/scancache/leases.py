"""Leases: who builds a digest now. One caller takes the lease; the others see it held."""

from __future__ import annotations

from dispatcher.ddbvalues import text
from dispatcher.scancache.table import (
    COMPLETED_STATUSES,
    PARTITION_KEY,
    STATUS_ERROR,
    STATUS_IN_FLIGHT,
    TTL_ATTRIBUTE,
    Table,
    attribute_names,
)
from dispatcher.scanitems import Held, Replaced, Taken

# Free: no item; or its TTL passed (an expired lease or an expired completed scan); or its
# in-flight lease expired (crashed build); or the last scan ended in error; or the completed scan
# is older than the caller's TTL.
_TAKE = (
    "attribute_not_exists(#pk) OR #exp < :now OR #st = :error "
    "OR (#st = :inflight AND #lease < :now) OR #done < :stale"
)
_OURS = "#lid = :lid AND #st = :inflight"


class Leases(Table):
    """Take, mark started and release a digest's in-flight lease."""

    def acquire(
        self, key: str, *, image: str, lease_id: str, now: float, seconds: int, ttl: int
    ) -> Held | None:
        """`take`, answering None when the lease is ours."""
        taken = self.take(key, image=image, lease_id=lease_id, now=now, seconds=seconds, ttl=ttl)
        return taken if isinstance(taken, Held) else None

    def take(
        self, key: str, *, image: str, lease_id: str, now: float, seconds: int, ttl: int
    ) -> Held | Taken:
        """Lease `key` for `seconds` unless held or scanned less than `ttl` seconds ago.

        `Taken` when the lease is ours, also when a retried put finds the lease its lost first
        attempt already wrote (same `lease_id`); `Held` when someone else has it.
        """
        expires = int(now) + seconds
        item = {
            PARTITION_KEY: {"S": key},
            "status": {"S": STATUS_IN_FLIGHT},
            "lease_id": {"S": lease_id},
            "lease_expires_at": {"N": str(expires)},
            TTL_ATTRIBUTE: {"N": str(expires)},
            "image": {"S": image[:1024]},
            "updated_at": {"N": str(int(now))},
        }
        written, answer = self._write(
            "PutItem",
            key,
            Item=item,
            ConditionExpression=_TAKE,
            ExpressionAttributeNames=attribute_names(_TAKE),
            ExpressionAttributeValues={
                ":now": {"N": str(int(now))},
                ":stale": {"N": str(int(now) - ttl)},
                ":error": {"S": STATUS_ERROR},
                ":inflight": {"S": STATUS_IN_FLIGHT},
            },
            ReturnValues="ALL_OLD",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        if written:
            old = answer.get("Attributes") or {}
            status = text(old, "status")
            unfinished = status in (STATUS_ERROR, STATUS_IN_FLIGHT)
            return Taken(key, Replaced(unfinished, text(old, "compute_tier")) if status else None)
        old = answer.get("Item", {})
        status = text(old, "status")
        if status == STATUS_IN_FLIGHT and text(old, "lease_id") == lease_id:
            return Taken(key)  # our own lease: the first attempt committed, its answer was lost
        if status in COMPLETED_STATUSES:
            return Held(key, completed=True)
        return Held(key, completed=False, settled="build_id" in old)

    def started(
        self,
        key: str,
        lease_id: str,
        build_id: str,
        now: float,
        seconds: int,
        *,
        tier: str | None = None,
    ) -> None:
        """Record the build id (and its compute tier) on our lease, extended to `seconds`."""
        expression = "SET #bid = :b, #upd = :now, #lease = :exp, #exp = :exp"
        values = {
            ":b": {"S": build_id},
            ":now": {"N": str(int(now))},
            ":exp": {"N": str(int(now) + seconds)},
            ":lid": {"S": lease_id},
            ":inflight": {"S": STATUS_IN_FLIGHT},
        }
        if tier:
            expression += ", #tier = :tier"
            values[":tier"] = {"S": tier}
        self._update(key, expression, _OURS, values)

    def release(self, key: str, lease_id: str) -> None:
        """Delete the item only while it is our in-flight lease."""
        self._write(
            "DeleteItem",
            key,
            Key={PARTITION_KEY: {"S": key}},
            ConditionExpression=_OURS,
            ExpressionAttributeNames=attribute_names(_OURS),
            ExpressionAttributeValues={
                ":lid": {"S": lease_id},
                ":inflight": {"S": STATUS_IN_FLIGHT},
            },
        )
