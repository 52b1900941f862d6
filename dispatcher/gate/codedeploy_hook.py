"""The AWS CodeDeploy `BeforeAllowTraffic` hook for Lambda alias deployments (SAM's
`DeploymentPreference.Hooks.PreTraffic`): the version about to receive traffic, from the
deployment's AppSpec; its image from `lambda:GetFunction` with that qualifier
(`Code.ResolvedImageUri`), or for a zip version its `CodeSha256` and each layer's (from
`lambda:GetLayerVersionByArn`), checked by code hash (dispatcher/gate/code.py); waits for a
running scan within its own timeout; reports Succeeded or Failed with
`codedeploy:PutLifecycleEventHookExecutionStatus`.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from typing import Any

import boto3

from dispatcher.aws import aws_call, own_account
from dispatcher.buildvars import (
    ACCOUNT_RE,
    CODE_SHA256_RE,
    KIND_LAMBDA_ZIP,
    LAYER_ARN_RE,
    MAX_LAYERS,
    REGION_RE,
)
from dispatcher.errors import EventError, LookupFailed, aws_error_code
from dispatcher.events import items, obj, text
from dispatcher.gate.answer import (
    FAIL,
    PASS,
    WAIT,
    Settled,
    clip,
    failure,
    final,
    guarded,
    settle,
)
from dispatcher.gate.code import GateCode, layer_codes
from dispatcher.gate.core import Destination
from dispatcher.gate.images import gather
from dispatcher.gate.runtime import HookRuntime, fallback_gate, lambda_runtime
from dispatcher.gate.verdict import GateVerdict

ADAPTER = "codedeploy-hook"
POLL_SECONDS = 15.0
MARGIN_SECONDS = 20.0  # kept back from the Lambda's own timeout to report the status
MESSAGE_LIMIT = 4000
_ID_RE = re.compile(r"^[A-Za-z0-9+/=_-]{1,2000}$")
_STATUS = {PASS: "Succeeded", FAIL: "Failed"}
_YAML_FIELD = r"^\s*{}\s*:\s*[\"']?([\w$.:/-]{{1,140}})[\"']?\s*$"


def answer(
    payload: object, run: HookRuntime, *, deadline: float, send: bool = True
) -> dict[str, Any]:
    """Decide, report to CodeDeploy (unless `send` is False) and return what was reported;
    never raises. `deadline`: epoch seconds by which the status must be reported."""
    started = run.clock()
    deployment = text(payload, "DeploymentId")
    settled = guarded(lambda: _decide(deployment, run, started, deadline), run.gate)
    settled = final(ADAPTER, (deployment or "-")[:200], settled, run.events)
    return report(payload, lambda: run.client("codedeploy"), settled, send=send)


def report(
    payload: object, client: Callable[[], Any], settled: Settled, *, send: bool = True
) -> dict[str, Any]:
    """Tell CodeDeploy Succeeded or Failed; answer what was reported (and why not, if not)."""
    deployment = text(payload, "DeploymentId") or ""
    execution = text(payload, "LifecycleEventHookExecutionId") or ""
    status = _STATUS[settled.status]
    body: dict[str, Any] = {
        "status": status,
        "message": clip(settled.message, MESSAGE_LIMIT),
        "deploymentId": deployment[:200],
        "reported": False,
    }
    if not (_ID_RE.match(deployment) and _ID_RE.match(execution)):
        body["message"] += "\nnot reported: DeploymentId or LifecycleEventHookExecutionId missing"
        return body
    if not send:
        body["message"] += "\nnot reported to CodeDeploy (a dry run)"
        return body
    try:
        client().put_lifecycle_event_hook_execution_status(
            deploymentId=deployment, lifecycleEventHookExecutionId=execution, status=status
        )
        body["reported"] = True
    except Exception as exc:  # CodeDeploy times the hook out itself; say why it was not told
        body["message"] += f"\nnot reported: {aws_error_code(exc)}"
    return body


def _decide(deployment: str | None, run: HookRuntime, started: float, deadline: float) -> Settled:
    if not deployment or not _ID_RE.match(deployment):
        raise EventError("DeploymentId is missing or malformed")
    function, version = target_version(run.client("codedeploy"), deployment)
    lookup = aws_call(
        f"lambda:GetFunction {function[:140]}:{version}",
        run.client("lambda").get_function,
        FunctionName=function,
        Qualifier=version,
    )
    config, code = obj(lookup, "Configuration"), obj(lookup, "Code")
    arn = text(config, "FunctionArn")
    parts = (arn or "").split(":")
    arn_ok = len(parts) > 6 and ACCOUNT_RE.match(parts[4]) and REGION_RE.match(parts[3])
    where = Destination(parts[4], parts[3], arn) if arn_ok else Destination()
    if (text(config, "PackageType") or "Zip") != "Image":  # older functions carry none
        codes, refused = zip_version(config, version, run)

        def ask() -> list[GateVerdict]:
            return refused + run.code_verdicts(codes, ADAPTER, where, started)

    else:
        image = text(code, "ResolvedImageUri") or text(code, "ImageUri")
        gathered = gather([(image, None)], run.resolver(), run.gate)

        def ask() -> list[GateVerdict]:
            refs = gathered.refs
            found = run.verdicts(refs, ADAPTER, where, started) if refs else []
            return list(gathered.refused) + found

    wait_until = min(started + run.gate.max_wait_minutes * 60, deadline - MARGIN_SECONDS)
    while True:
        verdicts = ask()
        now = run.clock()
        more = now + POLL_SECONDS <= wait_until
        settled = settle(verdicts, run.gate, first_seen=started, now=now, can_wait=more)
        if settled.status != WAIT:
            return settled
        run.sleep(POLL_SECONDS)


def zip_version(
    config: dict[str, Any], version: str, run: HookRuntime
) -> tuple[list[GateCode], list[GateVerdict]]:
    """The zip version's code (its `CodeSha256`, ARN qualified by the version) and its layers'."""
    arn, sha = text(config, "FunctionArn") or "", text(config, "CodeSha256")
    if not arn.startswith("arn:") or sha is None or not CODE_SHA256_RE.match(sha):
        raise LookupFailed("lambda:GetFunction gave no FunctionArn or no valid CodeSha256")
    qualified = ":".join(arn.split(":")[:7]) + f":{text(config, 'Version') or version}"
    layers = [text(layer, "Arn") or "" for layer in items(config, "Layers")]
    if len(layers) > MAX_LAYERS or not all(LAYER_ARN_RE.match(a) for a in layers):
        raise LookupFailed(f"{qualified[:160]} names invalid or too many layers")
    codes, refused = layer_codes(run.client("lambda"), layers, run.gate)
    return [GateCode(KIND_LAMBDA_ZIP, qualified, sha), *codes], refused


def target_version(client: Any, deployment: str) -> tuple[str, str]:
    """(function name, version) the deployment shifts traffic to, from its AppSpec content
    (GetDeployment, then GetApplicationRevision: GetDeployment leaves the content out)."""
    got = aws_call("codedeploy:GetDeployment", client.get_deployment, deploymentId=deployment)
    info = obj(got, "deploymentInfo")
    revision = obj(info, "revision")
    content = _content(revision)
    if content is None:
        application = text(info, "applicationName")
        if not application or not revision:
            raise EventError(f"deployment {deployment} names no application revision")
        full = aws_call(
            "codedeploy:GetApplicationRevision",
            client.get_application_revision,
            applicationName=application,
            revision=revision,
        )
        content = _content(obj(full, "revision"))
    if content is None:
        raise EventError(f"deployment {deployment} has no AppSpec content")
    return appspec_target(content[:100_000])


def appspec_target(content: str) -> tuple[str, str]:
    """The first Lambda resource's Name and TargetVersion, from JSON or (simple) YAML AppSpec."""
    try:
        document = json.loads(content)
    except ValueError:
        document = None
    if isinstance(document, dict):
        for resource in document.get("Resources") or []:
            for body in resource.values() if isinstance(resource, dict) else ():
                props = obj(body, "Properties")
                name, version = text(props, "Name"), props.get("TargetVersion")
                if name and isinstance(version, (str, int)) and not isinstance(version, bool):
                    return _checked(name, str(version))
        raise EventError("the AppSpec names no Lambda function with a TargetVersion")
    found = [re.search(_YAML_FIELD.format(k), content, re.M) for k in ("Name", "TargetVersion")]
    if found[0] is None or found[1] is None:
        raise EventError("the AppSpec is neither JSON nor YAML naming Name and TargetVersion")
    return _checked(found[0].group(1), found[1].group(1))


def _checked(name: str, version: str) -> tuple[str, str]:
    if not re.match(r"^[\w:.$/-]{1,140}$", name) or not re.match(r"^[\w$-]{1,128}$", version):
        raise EventError("the AppSpec's function Name or TargetVersion is malformed")
    return name, version


def _content(revision: dict[str, Any]) -> str | None:
    for kind in ("appSpecContent", "string"):
        content = text(obj(revision, kind), "content")
        if content:
            return content
    return None


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda entry point; the deadline is the Lambda's own remaining time."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    left = remaining() / 1000 if callable(remaining) else 60.0
    try:
        run = lambda_runtime(own_account(context))
    except Exception as exc:  # invalid settings: answered per GATE_ON_ERROR, never raised
        return misconfigured(event, str(exc), lambda: boto3.client("codedeploy"))
    return answer(event, run, deadline=time.time() + left)


def misconfigured(
    event: object, problem: str, client: Callable[[], Any], *, send: bool = True
) -> dict[str, Any]:
    """The answer while the gate's settings are invalid: GATE_ON_ERROR decides, and CodeDeploy
    is told (unless `send` is False)."""
    settled = failure(f"the gate is misconfigured: {problem}", fallback_gate(os.environ))
    settled = final(ADAPTER, text(event, "DeploymentId") or "-", settled)
    return report(event, client, settled, send=send)
