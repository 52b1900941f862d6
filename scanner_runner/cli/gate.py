"""`deployscan gate ecs-hook|cfn-hook|codedeploy-hook PAYLOAD`: what the gate Lambda answers for
that payload, printed as the same JSON (how a user debugs a blocked deploy).

Exit 0 answered (whatever the answer), 2 unreadable payload.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from typing import Any, NoReturn

import boto3
import click

from dispatcher.exitcodes import ExitCode
from dispatcher.gate import cfn_hook, codedeploy_hook, ecs_hook
from dispatcher.gate.runtime import HookRuntime, from_env

MAX_PAYLOAD_BYTES = 1024 * 1024
HOOKS = ("ecs-hook", "cfn-hook", "codedeploy-hook")


def read_payload(source: str) -> Any:
    """The JSON payload from a file or `-` (stdin); `ValueError` with one line when unreadable."""
    try:
        if source == "-":
            raw = sys.stdin.buffer.read(MAX_PAYLOAD_BYTES + 1)
        else:
            with open(source, "rb") as handle:
                raw = handle.read(MAX_PAYLOAD_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"cannot read {source}: {exc.strerror or exc}") from exc
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"{source} is larger than {MAX_PAYLOAD_BYTES} bytes")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"{source} is not JSON: {exc}") from exc


def respond(hook: str, payload: Any, run: HookRuntime, *, report: bool) -> dict[str, Any]:
    """The response of `hook`'s Lambda for `payload` (CodeDeploy is told only with `report`)."""
    if hook == "ecs-hook":
        return ecs_hook.answer(payload, run)
    if hook == "cfn-hook":
        return cfn_hook.answer(payload, run)
    deadline = run.clock() + run.gate.max_wait_minutes * 60 + codedeploy_hook.MARGIN_SECONDS
    return codedeploy_hook.answer(payload, run, deadline=deadline, send=report)


@click.command("gate")
@click.argument("hook", type=click.Choice(HOOKS))
@click.argument("payload")
@click.option("--region", envvar="AWS_REGION", help="AWS region of the scan cache.")
@click.option(
    "--report", is_flag=True, help="codedeploy-hook: also report the status to CodeDeploy."
)
def gate(*, hook: str, payload: str, region: str | None, report: bool) -> None:
    """Answer PAYLOAD (a file or -) as the gate Lambda HOOK would; print its JSON response.

    Exit codes: 0 answered, 2 unreadable payload.
    """
    try:
        event = read_payload(payload)
    except ValueError as exc:
        _fail(str(exc))
    session = boto3.session.Session(region_name=region)
    try:
        # A debugging run publishes no "Gate Decision" event: only the hooks' answers count.
        run = replace(from_env(os.environ, session), events=None)
    except Exception as exc:  # as the Lambda does: a misconfigured gate answers GATE_ON_ERROR
        click.echo(f"deployscan gate: misconfigured: {exc}", err=True)
        click.echo(json.dumps(_misconfigured(hook, event, str(exc)), sort_keys=True))
        sys.exit(ExitCode.OK)
    click.echo(json.dumps(respond(hook, event, run, report=report), sort_keys=True))
    sys.exit(ExitCode.OK)


def _misconfigured(hook: str, event: Any, problem: str) -> dict[str, Any]:
    """What the hook's Lambda answers while misconfigured (CodeDeploy is not told)."""
    if hook == "ecs-hook":
        return ecs_hook.misconfigured(problem)
    if hook == "cfn-hook":
        return cfn_hook.misconfigured(event, problem)
    return codedeploy_hook.misconfigured(event, problem, lambda: None, send=False)


def _fail(message: str) -> NoReturn:
    click.echo(f"deployscan gate: {message}", err=True)
    sys.exit(ExitCode.USAGE)
