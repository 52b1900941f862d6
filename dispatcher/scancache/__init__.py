"""The scan-cache table: one class owns its item layout and every operation on it.

One DynamoDB item per image, partition key `pk` (string): `digest#<algorithm:hex>` when the
digest is known, else `ref#<normalised reference>`; per zip function code or layer version,
`code#sha256:<hex>` (`code_key`: Lambda's base64 CodeSha256 as lower-case hex, so the same code
deployed as many functions, or as a function and a layer, is one item). Attributes:
  status            in-flight | passed | failed | error
  lease_id          who holds the in-flight lease (a dispatcher invocation, start-build, ...)
  lease_expires_at  epoch seconds; an in-flight lease older than this may be taken over
  expires_at        epoch seconds; the table's TTL attribute. For passed/failed it is
                    completed_at + CACHE_TTL_HOURS, so a completed scan suppresses rescans until
                    then; for error (or a verdict whose reports or alert did not go out) it is
                    the completion time, so the next deploy rescans.
  image, build_id, updated_at, completed_at, report_uri, counts {critical, high, ...}, vuln_data
  compute_tier      lambda | ec2: where the build runs (or ran); dispatcher/tiers.py reads it
  reason            the policy's reason for a finished scan (the deploy gate repeats it)
One more item per scan project, `line#<project>`: its capacity line of SQS messages waiting for a
free build slot (dispatcher/execute.py).
  line_oldest  epoch ms (SentTimestamp) of the oldest message StartBuild refused for capacity
  line_end     line_oldest + the caller's slack: messages sent later wait behind that generation
  expires_at   the line counts until then; each refusal in its generation renews it
The in-use index (dispatcher/scancache/inuse.py), written by the sweep: one item per digest and
account-region where it runs, `run#<digest>#<account>#<region>`. Sibling items, not attributes of
the digest's item: each sweep unit (one account-region) then owns the items it writes, so units
running at once never race and need no condition, and a verdict written meanwhile is untouched.
  digest, account, region, image   what runs there
  places        list of {kind: ecs | lambda, name: cluster/service or function, tasks}
  tasks         running ECS tasks of the digest there; place_count: places (the list is capped)
  last_seen     epoch seconds of the sweep that saw it
  expires_at    last_seen + IN_USE_HOURS: lapses when no sweep sees it any more
  scan_status, scan_completed_at, scan_report_uri, scan_counts, scan_vuln_data: the digest's
                last scan as the sweep saw it, so the rescan age outlives the verdict's own TTL
One item per account-region, `unit#<account>#<region>`: what its last sweep recorded.
  digests       string set of the digests written; a later sweep deletes those it no longer sees
  swept_at      epoch seconds of that sweep; expires_at as above
The values the operations take and answer: dispatcher/scanitems.py.
"""

from __future__ import annotations

import base64
import binascii

from dispatcher.errors import BuildVariableError
from dispatcher.imageref import ImageRef
from dispatcher.scancache.inuse import InUseIndex
from dispatcher.scancache.leases import Leases
from dispatcher.scancache.line import Line
from dispatcher.scancache.table import (
    COMPLETED_STATUSES,
    PARTITION_KEY,
    STATUS_ERROR,
    STATUS_FAILED,
    STATUS_IN_FLIGHT,
    STATUS_PASSED,
    TTL_ATTRIBUTE,
)
from dispatcher.scancache.verdicts import Verdicts
from dispatcher.scanitems import CachedScan, Held, Replaced, Taken, Verdict

__all__ = [
    "COMPLETED_STATUSES",
    "PARTITION_KEY",
    "STATUS_ERROR",
    "STATUS_FAILED",
    "STATUS_IN_FLIGHT",
    "STATUS_PASSED",
    "TTL_ATTRIBUTE",
    "CachedScan",
    "Held",
    "Replaced",
    "ScanCacheTable",
    "Taken",
    "Verdict",
    "cache_key",
    "code_key",
    "code_sha256_hex",
    "code_sha256_of",
    "digest_key",
    "indexed_key",
]


CODE_KEY_PREFIX = "code#"


def cache_key(ref: ImageRef) -> str:
    """The item key for an image: its digest when known, else its normalised reference."""
    return f"digest#{ref.digest}" if ref.digest else f"ref#{ref}"


def code_sha256_hex(code_sha256: str) -> str:
    """Lambda's CodeSha256 (base64 of the 32-byte digest) as 64 lower-case hex characters;
    BuildVariableError when it is not the base64 of exactly 32 bytes."""
    try:
        raw = base64.b64decode(code_sha256.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise BuildVariableError(f"CodeSha256 is not base64: {code_sha256[:60]!r}") from exc
    if len(raw) != 32:
        raise BuildVariableError(f"CodeSha256 is not a SHA-256 ({len(raw)} bytes)")
    return raw.hex()


def code_key(code_sha256: str) -> str:
    """The item key of Lambda code (a zip function's or a layer version's): `code#sha256:<hex>`."""
    return f"{CODE_KEY_PREFIX}sha256:{code_sha256_hex(code_sha256)}"


def digest_key(digest: str) -> str:
    """The item key of a digest."""
    return f"digest#{digest}"


def indexed_key(indexed: str) -> str:
    """The item key of what the in-use index records: an image digest, or zip code recorded
    under its own `code_key` (`code#sha256:<hex>`)."""
    return indexed if indexed.startswith(CODE_KEY_PREFIX) else digest_key(indexed)


def code_sha256_of(key: str) -> str:
    """Lambda's base64 CodeSha256 back from a `code_key` (`code#sha256:<hex>`)."""
    return base64.b64encode(bytes.fromhex(key.removeprefix(f"{CODE_KEY_PREFIX}sha256:"))).decode()


class ScanCacheTable(Leases, Verdicts, Line, InUseIndex):
    """The scan-cache table over an injected boto3 DynamoDB client; every error is `CacheError`.

    One class, its operations grouped by concern: leases, verdicts, the capacity line, the in-use
    index.
    """
