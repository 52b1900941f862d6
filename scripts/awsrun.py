"""Run a deploy plan through the AWS CLI: the executor half of scripts/deploy.py.

Every mutating call takes its request from a JSON file (`--cli-input-json file://…`, mode 0600,
deleted afterwards), so a secret parameter never appears in argv, and the plan that is printed
masks it. Stdlib only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MASK = "****"


class DeployError(Exception):
    """A deploy cannot go on; the message is the one line the operator sees."""


@dataclass(frozen=True)
class Call:
    """One AWS CLI call: `aws <service> <operation> [args] [--cli-input-json file://request]`."""

    what: str  # one line for the operator
    service: str
    operation: str
    region: str
    args: tuple[str, ...] = ()
    request: Mapping[str, Any] | None = None
    secret_paths: tuple[str, ...] = ()  # ParameterKeys whose values are masked when printed
    ok_errors: tuple[str, ...] = ()  # error texts that mean "nothing to do"


@dataclass(frozen=True)
class ChangeSet:
    """Create or update one stack through a change set, waiting for each stage."""

    what: str
    stack: str
    region: str
    template: str  # path of the template file
    parameters: Mapping[str, str | None]  # None = UsePreviousValue
    exists: bool
    secret_keys: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ("CAPABILITY_NAMED_IAM",)


Step = Call | ChangeSet


def masked(request: Mapping[str, Any], secret_keys: Sequence[str]) -> dict[str, Any]:
    """A copy of a request with the values of secret CloudFormation parameters masked."""
    out = dict(request)
    params = out.get("Parameters")
    if isinstance(params, list):
        out["Parameters"] = [
            {**p, "ParameterValue": MASK}
            if p.get("ParameterKey") in secret_keys and "ParameterValue" in p
            else p
            for p in params
        ]
    return out


def cfn_parameters(parameters: Mapping[str, str | None]) -> list[dict[str, Any]]:
    """CloudFormation's Parameters list; a None value keeps the stack's previous value."""
    return [
        {"ParameterKey": k, "UsePreviousValue": True}
        if v is None
        else {"ParameterKey": k, "ParameterValue": v}
        for k, v in parameters.items()
    ]


def describe(step: Step) -> str:
    """The lines printed for a step before it runs (secrets masked)."""
    if isinstance(step, ChangeSet):
        kind = "update" if step.exists else "create"
        shown = {
            k: (MASK if k in step.secret_keys and v else v) for k, v in step.parameters.items()
        }
        body = json.dumps(shown, indent=2, sort_keys=True)
        head = f"- {step.what}: {kind} stack {step.stack} in {step.region} from {step.template}"
        return f"{head}\n{body}"
    line = f"- {step.what}: aws {step.service} {step.operation} --region {step.region}"
    if step.args:
        line += " " + " ".join(step.args)
    if step.request is not None:
        line += "\n" + json.dumps(masked(step.request, step.secret_paths), indent=2, sort_keys=True)
    return line


@dataclass
class AwsCli:
    """Runs the `aws` executable; `runner` is swappable for tests."""

    executable: str = "aws"
    runner: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run
    echo: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr))

    def check_installed(self) -> None:
        """Fail early when the AWS CLI cannot be found."""
        if shutil.which(self.executable) is None:
            raise DeployError(
                f"the AWS CLI ({self.executable}) was not found: install it "
                "(https://aws.amazon.com/cli/) or set AWS_CLI to its path"
            )

    def call(
        self,
        service: str,
        operation: str,
        region: str,
        args: Sequence[str] = (),
        *,
        request: Mapping[str, Any] | None = None,
        ok_errors: Sequence[str] = (),
    ) -> Any:
        """Run one call; its parsed JSON output ({} when empty), or None after an ok error."""
        argv = [self.executable, service, operation, "--region", region, "--output", "json"]
        argv += list(args)
        path = None
        try:
            if request is not None:
                fd, path = tempfile.mkstemp(prefix="deployscan-", suffix=".json")
                with os.fdopen(fd, "w") as handle:  # mkstemp creates it 0600
                    json.dump(request, handle)
                argv += ["--cli-input-json", f"file://{path}"]
            done = self.runner(argv, capture_output=True, text=True, check=False)
        finally:
            if path:
                os.unlink(path)
        if done.returncode != 0:
            message = (done.stderr or done.stdout or "").strip()
            if any(text in message for text in ok_errors):
                return None
            raise DeployError(f"aws {service} {operation} failed: {message.splitlines()[-1:]}")
        out = done.stdout.strip()
        return json.loads(out) if out.startswith(("{", "[")) else {}

    def run(self, step: Step) -> None:
        """Carry out one step of a plan."""
        if isinstance(step, Call):
            self.call(
                step.service,
                step.operation,
                step.region,
                step.args,
                request=step.request,
                ok_errors=step.ok_errors,
            )
            return
        self._change_set(step)

    def _change_set(self, step: ChangeSet) -> None:
        name = "deployscan-" + os.urandom(4).hex()
        with open(step.template, encoding="utf-8") as handle:
            body = handle.read()
        request = {
            "StackName": step.stack,
            "ChangeSetName": name,
            "ChangeSetType": "UPDATE" if step.exists else "CREATE",
            "TemplateBody": body,
            "Parameters": cfn_parameters(step.parameters),
            "Capabilities": list(step.capabilities),
        }
        where = ("--stack-name", step.stack, "--change-set-name", name)
        self.call("cloudformation", "create-change-set", step.region, request=request)
        try:
            self.call("cloudformation", "wait", step.region, ("change-set-create-complete", *where))
        except DeployError:
            info = self.call("cloudformation", "describe-change-set", step.region, where) or {}
            reason = str(info.get("StatusReason", ""))
            if "didn't contain changes" in reason or "No updates" in reason:
                self.echo(f"  {step.stack}: no changes")
                self.call("cloudformation", "delete-change-set", step.region, where)
                return
            raise DeployError(f"change set for {step.stack} failed: {reason}") from None
        self.call("cloudformation", "execute-change-set", step.region, where)
        waiter = "stack-update-complete" if step.exists else "stack-create-complete"
        self.call("cloudformation", "wait", step.region, (waiter, "--stack-name", step.stack))
        self.echo(f"  {step.stack}: {waiter.replace('stack-', '').replace('-', ' ')}")


def execute(plan: Sequence[Step], cli: AwsCli, dry_run: bool) -> None:
    """Print every step, then (unless dry_run) run them in order, stopping at the first failure."""
    for step in plan:
        cli.echo(describe(step))
    if dry_run:
        cli.echo("dry run: nothing was changed")
        return
    for step in plan:
        cli.echo(f"running: {step.what}")
        cli.run(step)
