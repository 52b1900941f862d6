"""The AWS CloudFormation Lambda hook: before a stack creates or updates an
`AWS::ECS::TaskDefinition` (`ContainerDefinitions[].Image`) or an `AWS::Lambda::Function`
(`Code.ImageUri`; for zip code its S3 object's hash and its layers', dispatcher/gate/s3code.py),
answer SUCCESS, FAILED or IN_PROGRESS.

CloudFormation waits 30 s per invocation and allows only a few IN_PROGRESS rounds, so the hook
waits for a running scan inside the invocation (within `BUDGET_SECONDS`), hands its first-seen
time over in `callbackContext`, and on its last round settles an open verdict per
GATE_ON_TIMEOUT (docs/gate.md).
"""

from __future__ import annotations

import os
import time
from typing import Any

from dispatcher.aws import own_account
from dispatcher.buildvars import ACCOUNT_RE, REGION_RE
from dispatcher.events import items, obj, text
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
from dispatcher.gate.runtime import HookRuntime, fallback_gate, lambda_runtime
from dispatcher.gate.s3code import function_codes

ADAPTER = "cfn-hook"
MAX_ROUNDS = 3  # CloudFormation invokes a hook at most this often for one resource
BUDGET_SECONDS = 20.0  # of the 30 s CloudFormation waits: the rest covers start-up and lookups
POLL_SECONDS = 5.0
CALLBACK_DELAY = 30
MESSAGE_LIMIT = 4000  # CloudFormation keeps 4096 characters
TASK_DEFINITION = "AWS::ECS::TaskDefinition"
FUNCTION = "AWS::Lambda::Function"
_STATUS = {PASS: "SUCCESS", FAIL: "FAILED", WAIT: "IN_PROGRESS"}


def images_of(target_type: str, properties: dict[str, Any]) -> list[tuple[object, object]]:
    """The images a resource's CloudFormation properties name, as (image, None) pairs."""
    if target_type == TASK_DEFINITION:
        return [(d.get("Image"), None) for d in items(properties, "ContainerDefinitions")]
    if target_type == FUNCTION and text(properties, "PackageType") == "Image":
        return [(obj(properties, "Code").get("ImageUri"), None)]
    return []


def answer(payload: object, run: HookRuntime) -> dict[str, Any]:
    """The hook's response for one invocation; never raises."""
    started = run.clock()
    context = obj(obj(payload, "requestContext"), "callbackContext")
    seen = first_seen(context.get("firstSeen"), started)
    token = (text(payload, "clientRequestToken") or "")[:128]
    invocation = obj(payload, "requestContext").get("invocation")
    last = (
        not isinstance(invocation, int) or isinstance(invocation, bool) or invocation >= MAX_ROUNDS
    )
    settled = guarded(lambda: _decide(payload, run, seen, started, last=last), run.gate)
    if settled.status != WAIT:
        data = obj(payload, "requestData")
        subject = f"{text(data, 'targetType') or '-'} {text(data, 'targetLogicalId') or '-'}"
        where = f"{subject} in {text(payload, 'stackId') or '-'}"
        settled = final(ADAPTER, where, settled, run.events)
    return response(settled, token, seen)


def _decide(
    payload: object, run: HookRuntime, seen: float, started: float, *, last: bool
) -> Settled:
    data = obj(payload, "requestData")
    target = text(data, "targetType") or text(data, "targetName") or ""
    properties = obj(data, "targetModel").get("resourceProperties")
    if not target or not isinstance(properties, dict):
        # The hook is registered for CREATE/UPDATE of its two types only: a payload without a
        # target or its properties is not one CloudFormation sends, so it is no "nothing to check".
        what = "requestData.targetModel.resourceProperties" if target else "requestData.targetType"
        return failure(f"the hook payload is malformed: no {what}", run.gate)
    found = images_of(target, properties)
    zipped = target == FUNCTION and text(properties, "PackageType") != "Image"
    if not found and not zipped:
        return Settled(
            PASS,
            (),
            f"deployscan gate ({run.gate.mode}): no image to check in {target[:80] or 'this'}",
        )
    gathered = gather(found, run.resolver(), run.gate)
    codes, known = function_codes(properties, run.client, run.gate) if zipped else ([], [])
    stack = text(payload, "stackId") or text(payload, "stackID")
    parts = (stack or "").split(":")
    region = parts[3] if len(parts) > 5 and REGION_RE.match(parts[3]) else None
    account = text(payload, "awsAccountId")
    account = account if account and ACCOUNT_RE.match(account) else None
    where = Destination(account, region, (stack or "")[:400] or None)
    while True:
        verdicts = list(gathered.refused) + known
        if gathered.refs:
            verdicts += run.verdicts(gathered.refs, ADAPTER, where, seen)
        if codes:
            verdicts += run.code_verdicts(codes, ADAPTER, where, seen)
        now = run.clock()
        out_of_time = now + POLL_SECONDS > started + BUDGET_SECONDS
        settled = settle(
            verdicts, run.gate, first_seen=seen, now=now, can_wait=not (last and out_of_time)
        )
        if settled.status != WAIT or out_of_time:
            return settled
        run.sleep(POLL_SECONDS)


def response(settled: Settled, token: str, seen: float) -> dict[str, Any]:
    """The JSON CloudFormation reads: hookStatus, errorCode when FAILED, message,
    clientRequestToken, and callbackContext with callbackDelaySeconds while waiting."""
    body: dict[str, Any] = {
        "hookStatus": _STATUS[settled.status],
        "message": clip(settled.message, MESSAGE_LIMIT),
        "clientRequestToken": token,
    }
    if settled.status == FAIL:
        body["errorCode"] = "InternalFailure" if settled.error else "NonCompliant"
    if settled.status == WAIT:
        body["callbackContext"] = {"firstSeen": stamp(seen)}
        body["callbackDelaySeconds"] = CALLBACK_DELAY
    return body


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda entry point."""
    try:
        run = lambda_runtime(own_account(context))
    except Exception as exc:  # invalid settings: answered per GATE_ON_ERROR, never raised
        return misconfigured(event, str(exc))
    return answer(event, run)


def misconfigured(event: object, problem: str) -> dict[str, Any]:
    """The answer while the gate's settings are invalid: GATE_ON_ERROR decides."""
    gate = fallback_gate(os.environ)
    settled = final(ADAPTER, "-", failure(f"the gate is misconfigured: {problem}", gate))
    return response(settled, (text(event, "clientRequestToken") or "")[:128], time.time())
