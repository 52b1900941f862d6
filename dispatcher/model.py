"""What the planner and the executor produce: a build, a started build, or a skip with a reason.

Every outcome carries its `Origin` (which record, which deploy) and renders as one decision line
with exactly the contract's keys: action, image, digest, reason, trigger, account, region,
container.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dispatcher.buildvars import KIND_IMAGE, BuildRequest

MAX_IMAGE_TEXT = 300  # how much of a hostile reference a decision line repeats

# Skip reasons. A skip with `retry=True` makes its SQS record wait and come back (or, for the
# POISON_REASONS, go to the dead-letter queue at once: they never improve with time).
INVALID_IMAGE_REFERENCE = "invalid-image-reference"
NEEDS_LOOKUP = "needs-lookup"
LOOKUP_FAILED = "lookup-failed"
UNREADABLE_RECORD = "unreadable-record"
INVALID_EVENT = "invalid-event"
UNSUPPORTED_EVENT = "unsupported-event"
API_CALL_FAILED = "api-call-failed"
TASK_NOT_RUNNING = "task-not-running"
NO_TASK_DEFINITION_CHANGE = "no-task-definition-change"
CONFIGURATION_ONLY = "configuration-only"
NO_IMAGES = "no-images"
TOO_MANY_CONTAINERS = "too-many-containers"
EXCLUDED_REPOSITORY = "excluded-repository"
EXCLUDED_CLUSTER = "excluded-cluster"
EXCLUDED_FUNCTION = "excluded-function"
DUPLICATE = "duplicate"
INVALID_BUILD_REQUEST = "invalid-build-request"
ALREADY_SCANNED = "already-scanned"
SCAN_IN_PROGRESS = "scan-in-progress"
LAUNCH_THROTTLED = "launch-throttled"
CAPACITY_FULL = "capacity-full"
LAUNCH_FAILED = "launch-failed"
DEDUP_UNAVAILABLE = "dedup-unavailable"
STARTED = "started"
POISON_REASONS = frozenset({UNREADABLE_RECORD, INVALID_EVENT})
CAPACITY_REASONS = frozenset({CAPACITY_FULL})
DEDUP_REASONS = frozenset({DUPLICATE, ALREADY_SCANNED, SCAN_IN_PROGRESS})  # scanned or scanning


@dataclass(frozen=True)
class Origin:
    """Where a decision comes from: the record (SQS message or event) and the deploy."""

    record_id: str
    trigger: str | None = None
    account: str | None = None
    region: str | None = None
    resource_arn: str | None = None
    container: str | None = None


@dataclass(frozen=True)
class Code:
    """A zip function's code or a layer version, as a decision names it."""

    kind: str  # lambda-zip | lambda-layer
    arn: str
    code_sha256: str | None = None  # base64, as Lambda reports it


@dataclass(frozen=True)
class Skip:
    """Nothing is built for this item, for `reason`; `retry` makes its record fail (SQS retry)."""

    origin: Origin
    reason: str
    image: str | None = None
    digest: str | None = None
    detail: str = ""
    retry: bool = False
    code: Code | None = None  # set for zip code: the line then names it instead of an image


@dataclass(frozen=True)
class Build:
    """One image to scan: its dedup key and the validated build request."""

    origin: Origin
    key: str
    image: str  # the reference as deployed
    request: BuildRequest
    tier_reason: str = ""  # why request.compute_tier (dispatcher/tiers.py)

    @property
    def code(self) -> Code | None:
        """The zip code this build scans (None for an image)."""
        request = self.request
        if request.kind == KIND_IMAGE or request.code_arn is None:
            return None
        return Code(request.kind, request.code_arn, request.code_sha256)


@dataclass(frozen=True)
class Started:
    """A build the executor started."""

    build: Build
    build_id: str


Decision = Build | Skip
Outcome = Started | Skip
Result = Build | Started | Skip  # a planned decision (dry run) or an executed outcome


def tier_fields(item: Build | Started | Skip) -> dict[str, Any]:
    """The compute tier of a build and why, for the dispatcher's log (not the CLI's lines)."""
    build = item.build if isinstance(item, Started) else item
    if not isinstance(build, Build):
        return {}
    return {"tier": build.request.compute_tier, "tier_reason": build.tier_reason or None}


def decision_line(item: Build | Started | Skip) -> dict[str, Any]:
    """The contract's JSON object for one decision or outcome (null where unknown)."""
    if isinstance(item, Started):
        line = decision_line(item.build)
        line["reason"] = STARTED
        return line
    action, reason = ("build", None) if isinstance(item, Build) else ("skip", item.reason)
    image = item.image
    digest = item.request.digest if isinstance(item, Build) else item.digest
    origin, code = item.origin, item.code
    extra = {} if code is None else {"kind": code.kind, "arn": code.arn[:MAX_IMAGE_TEXT],
                                     "code_sha256": code.code_sha256}  # fmt: skip
    if code is not None:
        image = None  # a zip line names its ARN, never an image
    line = {
        "action": action,
        "image": image[:MAX_IMAGE_TEXT] if isinstance(image, str) else None,
        "digest": digest,
        "reason": reason,
        "trigger": origin.trigger,
        "account": origin.account,
        "region": origin.region,
        "container": origin.container,
    }
    return line | extra
