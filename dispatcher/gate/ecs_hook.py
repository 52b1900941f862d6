"""The Amazon ECS service-deployment lifecycle hook (e.g. at PRE_SCALE_UP): the target service
revision's images, read with `ecs:DescribeServiceRevisions` in the service's account, answered
SUCCEEDED, FAILED (ECS rolls back) or IN_PROGRESS (ECS asks again after `callBackDelay`).

`hookDetails` carries when the gate first saw the deploy, so GATE_MAX_WAIT_MINUTES counts from
there across invocations.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from typing import Any

from dispatcher.aws import own_account
from dispatcher.errors import EventError
from dispatcher.events import obj, text
from dispatcher.gate.answer import (
    FAIL,
    PASS,
    WAIT,
    Settled,
    clip,
    failure,
    final,
    first_seen,
    guarded,
    settle,
    stamp,
)
from dispatcher.gate.core import Destination
from dispatcher.gate.images import gather
from dispatcher.gate.revision import revision_images
from dispatcher.gate.runtime import HookRuntime, fallback_gate, lambda_runtime

ADAPTER = "ecs-hook"
FIRST_SEEN = "deployscanFirstSeen"  # the key this hook adds to hookDetails
CALLBACK_DELAY = 30  # seconds; ECS's own default
MESSAGE_LIMIT = 4000
_STATUS = {PASS: "SUCCEEDED", FAIL: "FAILED", WAIT: "IN_PROGRESS"}
_REVISION_RE = re.compile(
    r"^arn:aws[a-z-]*:ecs:(?P<region>[a-z0-9-]{1,30}):(?P<account>\d{12}):service-revision/[\w./-]{1,400}$"
)


@dataclass(frozen=True)
class EcsHookEvent:
    """The invocation payload: which revision is about to start, in which account and region."""

    raw: dict[str, Any]
    execution_id: str
    stage: str
    service_arn: str | None
    revision_arn: str
    account: str
    region: str

    @classmethod
    def parse(cls, payload: object) -> EcsHookEvent:
        """Read the required fields; `EventError` names the first one missing or malformed."""
        if not isinstance(payload, dict):
            raise EventError("the ECS hook payload is not a JSON object")
        details = obj(payload, "executionDetails")
        revision = text(details, "targetServiceRevisionArn")
        match = _REVISION_RE.match(revision or "")
        if revision is None or match is None:
            raise EventError("executionDetails.targetServiceRevisionArn is missing or not an ARN")
        return cls(
            raw=payload,
            execution_id=(text(payload, "executionId") or "-")[:100],
            stage=(text(payload, "lifecycleStage") or "-")[:60],
            service_arn=(text(details, "serviceArn") or "")[:400] or None,
            revision_arn=revision,
            account=match["account"],
            region=match["region"],
        )


def answer(payload: object, run: HookRuntime) -> dict[str, Any]:
    """The hook's response for one invocation; never raises."""
    now = run.clock()
    seen = first_seen(obj(payload, "hookDetails").get(FIRST_SEEN), now)
    subject = text(obj(payload, "executionDetails"), "targetServiceRevisionArn") or "-"
    settled = guarded(lambda: _decide(payload, run, seen), run.gate)
    if settled.status != WAIT:
        settled = final(ADAPTER, subject, settled, run.events)
    return response(settled, seen, run.clock(), run.gate.max_wait_minutes)


def _decide(payload: object, run: HookRuntime, seen: float) -> Settled:
    event = EcsHookEvent.parse(payload)
    resolver = run.resolver()
    containers = revision_images(resolver, event.account, event.region, event.revision_arn)
    if not containers:
        raise EventError(f"service revision {event.revision_arn} lists no container image")
    gathered = gather(((c.image, c.digest) for c in containers), resolver, run.gate)
    where = Destination(event.account, event.region, event.service_arn)
    verdicts = list(gathered.refused)
    if gathered.refs:
        verdicts += run.verdicts(gathered.refs, ADAPTER, where, seen)
    return settle(verdicts, run.gate, first_seen=seen, now=run.clock())


def response(settled: Settled, seen: float, now: float, max_wait_minutes: int) -> dict[str, Any]:
    """The JSON ECS reads: `hookStatus`, `callBackDelay` while waiting, `hookDetails` carrying
    the first-seen time, and `reason` with the message (also logged)."""
    body: dict[str, Any] = {
        "hookStatus": _STATUS[settled.status],
        "hookDetails": {FIRST_SEEN: stamp(seen)},
        "reason": clip(settled.message, MESSAGE_LIMIT),
    }
    if settled.status == WAIT:
        left = seen + max_wait_minutes * 60 - now
        body["callBackDelay"] = int(max(1, min(CALLBACK_DELAY, left + 1)))
    return body


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda entry point."""
    try:
        run = lambda_runtime(own_account(context))
    except Exception as exc:  # invalid settings: answered per GATE_ON_ERROR, never raised
        return misconfigured(str(exc))
    return answer(event, run)


def misconfigured(problem: str) -> dict[str, Any]:
    """The answer while the gate's settings are invalid: GATE_ON_ERROR decides."""
    gate = fallback_gate(os.environ)
    settled = final(ADAPTER, "-", failure(f"the gate is misconfigured: {problem}", gate))
    now = time.time()
    return response(settled, now, now, gate.max_wait_minutes)
