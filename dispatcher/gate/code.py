"""The gate for zip Lambda code: a function's code or a layer version, keyed by its code hash.

The same decision as for an image (`dispatcher/gate/verdict.py`) over the `code_key` record of
the hash; a missing scan of code Lambda already holds (a published version, a layer version) is
started through the normal dispatch path (lease and build variables, kind lambda-zip or
lambda-layer). Code that Lambda does not hold yet (a CloudFormation `Code.S3Key` before the
function exists) cannot be scanned by the runner, which downloads code through Lambda: such a
hash is answered from an earlier scan of the same code, else per GATE_ON_TIMEOUT at once.
Break-glass entries name images only; they do not cover zip code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dispatcher.buildvars import BuildRequestError
from dispatcher.errors import CacheError, LookupFailed
from dispatcher.gate.core import GATE_TRIGGER, Destination, Starter, launch, retry_due
from dispatcher.gate.settings import GateSettings
from dispatcher.gate.verdict import GateVerdict, decide, on_error, on_timeout
from dispatcher.lambdacode import layer_code
from dispatcher.scancache import code_key
from dispatcher.scancache.gatereads import GateCacheTable
from dispatcher.tiers import choose_tier, code_build_request

RoleFor = Callable[[str | None, str | None], str | None]  # (account, region) -> role ARN


@dataclass(frozen=True)
class GateCode:
    """One zip package a deploy carries; `startable`: Lambda holds it, so a scan can start."""

    kind: str  # lambda-zip | lambda-layer
    arn: str  # the (qualified) function ARN, the layer version ARN, or s3://bucket/key
    code_sha256: str  # base64, as Lambda computes it
    startable: bool = True

    @property
    def label(self) -> str:
        """How a message names it: the ARN (or S3 object) and its code hash."""
        return f"{self.arn} (code {self.code_sha256})"


def layer_codes(client: object, arns: Sequence[str], gate: GateSettings) -> tuple[
    list[GateCode], list[GateVerdict]
]:  # fmt: skip
    """Each layer version's hash (`lambda:GetLayerVersionByArn`); one that cannot be read is a
    verdict per GATE_ON_ERROR."""
    codes, refused = [], []
    for arn in dict.fromkeys(arns):
        try:
            found = layer_code(client, arn)
        except LookupFailed as exc:
            refused.append(on_error(str(arn)[:200], f"cannot read the layer: {exc}", gate))
            continue
        codes.append(GateCode(found.kind, found.arn, found.code_sha256))
    return codes, refused


def code_verdicts(
    codes: Sequence[GateCode],
    gate: GateSettings,
    cache: GateCacheTable,
    clock: Callable[[], float],
    *,
    starter: Starter | None = None,
    role_for: RoleFor = lambda account, region: None,
    destination: Destination,
    since: float | None = None,
) -> list[GateVerdict]:
    """One verdict per code hash; with a `starter`, a startable hash never scanned (or whose
    scan ended in error before `since`) gets its scan started and waits for it."""
    keys = [code_key(c.code_sha256) for c in codes]
    try:
        records = cache.gate_scans(keys, clock())
    except CacheError as exc:
        return [on_error(c.label, str(exc), gate) for c in codes]
    answers = []
    for code, key in zip(codes, keys, strict=True):
        now = clock()
        try:
            cached = records[key]
            verdict = decide(code.label, cached, gate, now)
            retry = retry_due(cached, since)
            if not code.startable and verdict.outcome == "unknown":
                verdict = on_timeout(_unscannable(verdict), gate)
            elif starter is not None and code.startable and (verdict.outcome == "unknown" or retry):
                verdict = _start(code, verdict, cache, clock, starter=starter, role_for=role_for,
                                 where=destination)  # fmt: skip
        except CacheError as exc:
            verdict = on_error(code.label, str(exc), gate)
        answers.append(verdict)
    return answers


def _unscannable(verdict: GateVerdict) -> GateVerdict:
    why = "the runner reads code through Lambda, so nothing can scan it before the deploy"
    reason = f"{verdict.reason}; {why}"
    return GateVerdict(verdict.image, "unknown", reason, None, verdict.vulnerability_data)


def _start(
    code: GateCode,
    verdict: GateVerdict,
    cache: GateCacheTable,
    clock: Callable[[], float],
    *,
    starter: Starter,
    role_for: RoleFor,
    where: Destination,
) -> GateVerdict:
    """Start the code's scan with the executor's lease on its code hash; pending when started."""
    parts = code.arn.split(":")  # arn:<partition>:lambda:<region>:<account>:…
    account, region = (parts[4], parts[3]) if len(parts) > 5 else (where.account, where.region)
    tiers = starter.settings.tiers
    request = code_build_request(
        tiers,
        choose_tier(tiers, registry=""),
        kind=code.kind,
        code_arn=code.arn,
        code_sha256=code.code_sha256,
        account=account,
        region=region,
        trigger=f"{GATE_TRIGGER}:{starter.adapter}",
        resource_arn=where.resource_arn,
        pull_role_arn=role_for(account, region),
    )
    try:
        request.environment()
    except BuildRequestError as exc:
        return GateVerdict(code.label, "unknown", f"{verdict.reason}; scan not started: {exc}")
    return launch(code.label, verdict, code_key(code.code_sha256), code.arn, request,
                  where=where, starter=starter, cache=cache, clock=clock)  # fmt: skip
