"""The scan-cache table: one class owns its item layout and every operation on it.

One DynamoDB item per image, partition key `pk` (string): `digest#<algorithm:hex>` when the
digest is known, else `ref#<normalised reference>`. Attributes:
  status            in-flight | passed | failed | error
  lease_id          who holds the in-flight lease (a dispatcher invocation, start-build, ...)
  lease_expires_at  epoch seconds; an in-flight lease older than this may be taken over
  expires_at        epoch seconds; the table's TTL attribute. For passed/failed it is
                    completed_at + CACHE_TTL_HOURS, so a completed scan suppresses rescans until
                    then; for error (or a verdict whose reports or alert did not go out) it is
                    the completion time, so the next deploy rescans.
  image, build_id, updated_at, completed_at, report_uri, counts {critical, high, ...}, vuln_data
  compute_tier      lambda | ec2: where the build runs (or ran); dispatcher/tiers.py reads it
One more item per scan project, `line#<project>`: its capacity line of SQS messages waiting for a
free build slot (dispatcher/execute.py).
  line_oldest  epoch ms (SentTimestamp) of the oldest message StartBuild refused for capacity
  line_end     line_oldest + the caller's slack: messages sent later wait behind that generation
  expires_at   the line counts until then; each refusal in its generation renews it
The values the operations take and answer: dispatcher/scanitems.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dispatcher.ddbvalues import iso, number, text
from dispatcher.errors import CacheError, aws_error_code
from dispatcher.imageref import ImageRef
from dispatcher.scanitems import CachedScan, Held, Replaced, Taken, Verdict

PARTITION_KEY = "pk"
TTL_ATTRIBUTE = "expires_at"
STATUS_IN_FLIGHT = "in-flight"
STATUS_PASSED = "passed"
STATUS_FAILED = "failed"
STATUS_ERROR = "error"
COMPLETED_STATUSES = frozenset({STATUS_PASSED, STATUS_FAILED})
_CONDITION_FAILED = "ConditionalCheckFailedException"
_N = {
    "#pk": PARTITION_KEY,
    "#exp": TTL_ATTRIBUTE,
    "#st": "status",
    "#lid": "lease_id",
    "#lease": "lease_expires_at",
    "#done": "completed_at",
    "#upd": "updated_at",
    "#bid": "build_id",
    "#img": "image",
    "#uri": "report_uri",
    "#cnt": "counts",
    "#tier": "compute_tier",
    "#vd": "vuln_data",
    "#old": "line_oldest",
    "#end": "line_end",
}
# Free: no item; or its TTL passed (an expired lease or an expired completed scan); or its
# in-flight lease expired (crashed build); or the last scan ended in error; or the completed scan
# is older than the caller's TTL.
_TAKE = (
    "attribute_not_exists(#pk) OR #exp < :now OR #st = :error "
    "OR (#st = :inflight AND #lease < :now) OR #done < :stale"
)
_OURS = "#lid = :lid AND #st = :inflight"


def cache_key(ref: ImageRef) -> str:
    """The item key for an image: its digest when known, else its normalised reference."""
    return f"digest#{ref.digest}" if ref.digest else f"ref#{ref}"


def digest_key(digest: str) -> str:
    """The item key of a digest."""
    return f"digest#{digest}"


class ScanCacheTable:
    """The scan-cache table over an injected boto3 DynamoDB client; every error is `CacheError`."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

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
            ExpressionAttributeNames=_names(_TAKE),
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
            ExpressionAttributeNames=_names(_OURS),
            ExpressionAttributeValues={
                ":lid": {"S": lease_id},
                ":inflight": {"S": STATUS_IN_FLIGHT},
            },
        )

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
        }
        tier = ", #tier = :tier" if verdict.compute_tier else ""
        if tier:
            values[":tier"] = {"S": verdict.compute_tier}
        expression = (
            "SET #st = :status, #exp = :expires, #cnt = :counts, #uri = :uri, #done = :now, "
            f"#upd = :now, #bid = :build, #img = :image, #vd = :vd{tier} REMOVE #lease"
        )
        self._write(
            "UpdateItem",
            key,
            Key={PARTITION_KEY: {"S": key}},
            UpdateExpression=expression,
            ExpressionAttributeNames=_names(expression),
            ExpressionAttributeValues=values,
        )

    def line_end(self, project: str, now: float) -> float | None:
        """Epoch seconds when the generation heading `project`'s line ends; None: no line."""
        item = self._get(_line_key(project))
        if number(item, TTL_ATTRIBUTE) < now or text(item, "line_end") is None:
            return None
        return number(item, "line_end") / 1000

    def wait_in_line(
        self, project: str, sent_at: float, now: float, *, slack: float, seconds: float
    ) -> None:
        """A message sent at `sent_at` was refused for capacity: it heads the line when it is
        older than the head (or the line lapsed), else it keeps its generation's line alive."""
        key, sent = _line_key(project), int(sent_at * 1000)
        values = {":s": {"N": str(sent)}, ":until": {"N": str(int(now + seconds))}}
        head = {":e": {"N": str(sent + int(slack * 1000))}, ":now": {"N": str(int(now))}}
        lapsed = "attribute_not_exists(#pk) OR #exp < :now OR #old > :s"
        done, refused = self._update(
            key, "SET #old = :s, #end = :e, #exp = :until", lapsed, {**values, **head}
        )
        line = {} if done else refused.get("Item", {})
        # An older generation heads a live line: renew it if ours, once half its time is gone.
        if number(line, "line_end") >= sent and number(line, TTL_ATTRIBUTE) < now + seconds / 2:
            self._update(key, "SET #exp = :until", "#end >= :s", values)

    def lookup(self, key: str, now: float) -> CachedScan | None:
        """The item for `key` while it still suppresses a build (completed or in flight)."""
        item = self._get(key)
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
        counts = item.get("counts", {}).get("M", {}) if isinstance(item.get("counts"), dict) else {}
        return CachedScan(
            key=key,
            status=status or "",
            when=iso(stamp or text(item, "updated_at")),
            build_id=text(item, "build_id"),
            report_uri=text(item, "report_uri"),
            counts={k: int(number(counts, k)) for k in counts},
            vulnerability_data=item.get("vuln_data", {}).get("BOOL") is not False,
        )

    def _get(self, key: str) -> dict[str, Any]:
        """The item (empty when there is none), read consistently."""
        try:
            response = self._client.get_item(
                TableName=self._table, Key={PARTITION_KEY: {"S": key}}, ConsistentRead=True
            )
        except Exception as exc:  # botocore errors, wrapped once at this seam
            raise CacheError(
                f"cannot read the scan cache {self._table}: {aws_error_code(exc)}"
            ) from exc
        item = response.get("Item")
        return item if isinstance(item, dict) else {}

    def _update(
        self, key: str, expression: str, condition: str, values: dict[str, Any]
    ) -> tuple[bool, dict[str, Any]]:
        """One conditional UpdateItem, answered as `_write` answers (old item on a refusal)."""
        return self._write(
            "UpdateItem",
            key,
            Key={PARTITION_KEY: {"S": key}},
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeNames=_names(expression + condition),
            ExpressionAttributeValues=values,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )

    def _write(self, operation: str, key: str, **request: Any) -> tuple[bool, dict[str, Any]]:
        """One conditional write: (True, AWS's answer), or (False, the refusal's response) when
        its condition failed. Any other error is a `CacheError`: nothing is built unguarded,
        nothing recorded falsely."""
        method: Callable[..., Any] = {
            "PutItem": self._client.put_item,
            "UpdateItem": self._client.update_item,
            "DeleteItem": self._client.delete_item,
        }[operation]
        try:
            answer = method(TableName=self._table, **request)
        except Exception as exc:  # botocore errors, wrapped once at this seam
            if aws_error_code(exc) != _CONDITION_FAILED:
                raise CacheError(
                    f"dynamodb:{operation} on {key} failed: {aws_error_code(exc)}"
                ) from exc
            response = getattr(exc, "response", None)
            return False, response if isinstance(response, dict) else {}
        return True, answer if isinstance(answer, dict) else {}


def _line_key(project: str) -> str:
    return f"line#{project}"


def _names(expression: str) -> dict[str, str]:
    """The attribute-name placeholders an expression uses."""
    return {k: v for k, v in _N.items() if k in expression}
