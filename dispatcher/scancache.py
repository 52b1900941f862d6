"""The scan-cache table's contract, shared by the dispatcher (leases) and the runner (results).

One DynamoDB item per image, partition key `pk` (string):
  `digest#<algorithm:hex>` when the digest is known, else `ref#<normalised reference>`.
Attributes:
  status            "in-flight" | "passed" | "failed" | "error"
  lease_expires_at  epoch seconds; an in-flight lease older than this may be taken over
  expires_at        epoch seconds; the table's TTL attribute. For passed/failed it is
                    completed_at + CACHE_TTL_HOURS, so a completed scan suppresses rescans until
                    then; for error it is the completion time, so the next deploy rescans.
  image, build_id, updated_at, completed_at, report_uri, counts {critical, high, medium, low, info}
"""

from __future__ import annotations

from dispatcher.imageref import ImageRef

PARTITION_KEY = "pk"
TTL_ATTRIBUTE = "expires_at"

STATUS_IN_FLIGHT = "in-flight"
STATUS_PASSED = "passed"
STATUS_FAILED = "failed"
STATUS_ERROR = "error"
COMPLETED_STATUSES = frozenset({STATUS_PASSED, STATUS_FAILED})


def cache_key(ref: ImageRef) -> str:
    """The item key for an image: its digest when known, else its normalised reference."""
    if ref.digest:
        return f"digest#{ref.digest}"
    return f"ref#{ref}"
