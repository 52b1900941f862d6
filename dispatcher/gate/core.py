"""The gate's core: read each image's scan-cache record, start missing scans through the normal
dispatch path (the same lease and build variables as the event path), decide each verdict."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from dispatcher import model as m
from dispatcher.buildvars import BuildRequest
from dispatcher.errors import CacheError
from dispatcher.execute import execute
from dispatcher.gate.breakglass import BreakGlass
from dispatcher.gate.settings import GateSettings
from dispatcher.gate.verdict import GateVerdict, decide, on_error
from dispatcher.imageref import ImageRef
from dispatcher.launch import Launcher
from dispatcher.scancache import STATUS_ERROR, CachedScan, cache_key
from dispatcher.scancache.gatereads import GateCacheTable
from dispatcher.settings import Settings
from dispatcher.tiers import choose_tier

GATE_TRIGGER = "gate"


@dataclass(frozen=True)
class Destination:
    """Where the images are going: the deploy's account, region and resource, when known."""

    account: str | None = None
    region: str | None = None
    resource_arn: str | None = None


@dataclass(frozen=True)
class Starter:
    """What starting a missing scan needs: the dispatcher's settings, a launcher, the adapter."""

    settings: Settings
    launcher: Launcher
    adapter: str = "cli"  # the trigger is gate:<adapter>


def evaluate(
    images: Sequence[ImageRef],
    gate: GateSettings,
    cache: GateCacheTable,
    clock: Callable[[], float],
    *,
    breakglass: Iterable[BreakGlass] = (),
    starter: Starter | None = None,
    destination: Destination = Destination(),
    since: float | None = None,
) -> list[GateVerdict]:
    """One verdict per image; with a `starter`, an image never scanned gets its scan started.

    A scan that ended in error before `since` (when the deploy was first seen; None: always) is
    scanned again and the image waits for it; an error recorded since is answered per
    GATE_ON_ERROR, so one deploy retries a failed scan once, never in a loop.
    """
    allow_list = tuple(breakglass)
    answers = []
    try:
        records = cache.gate_scans([cache_key(image) for image in images], clock())
    except CacheError as exc:
        return [on_error(image, str(exc), gate) for image in images]
    for image in images:
        now = clock()
        try:
            cached = records[cache_key(image)]
            verdict = decide(image, cached, gate, now, allow_list)
            retry = retry_due(cached, since) and not any(e.covers(image, now) for e in allow_list)
            if starter is not None and (verdict.outcome == "unknown" or retry):
                verdict = _start(image, verdict, cache, clock, starter, where=destination)
        except CacheError as exc:
            verdict = on_error(image, str(exc), gate)
        answers.append(verdict)
    return answers


def _start(
    image: ImageRef,
    verdict: GateVerdict,
    cache: GateCacheTable,
    clock: Callable[[], float],
    starter: Starter,
    *,
    where: Destination,
) -> GateVerdict:
    """Start the scan through the executor's lease and launch; the verdict becomes pending
    (when nothing could be started, `verdict` stands)."""
    tiers = starter.settings.tiers
    tier = choose_tier(tiers, registry=image.registry).tier
    ecr = image.ecr
    request = BuildRequest(
        project=tiers.project(tier),
        image=image,
        digest=image.digest,
        platform=None,
        source_account=ecr.account if ecr else where.account,
        source_region=ecr.region if ecr else where.region,
        trigger=f"{GATE_TRIGGER}:{starter.adapter}",
        resource_arn=where.resource_arn,
        compute_tier=tier,
    )
    return launch(verdict.image, verdict, cache_key(image), str(image), request,
                  where=where, starter=starter, cache=cache, clock=clock)  # fmt: skip


def retry_due(cached: CachedScan | None, since: float | None) -> bool:
    """Whether a scan ended in error before the deploy was first seen (`since`; None: always):
    the gate then scans again, once per deploy."""
    return (
        cached is not None
        and cached.status == STATUS_ERROR
        and (since is None or cached.completed_at < since)
    )


def launch(
    label: str,
    verdict: GateVerdict,
    key: str,
    target: str,
    request: BuildRequest,
    *,
    where: Destination,
    starter: Starter,
    cache: GateCacheTable,
    clock: Callable[[], float],
) -> GateVerdict:
    """Start `request` under the executor's lease on `key`; the verdict `after_start`."""
    origin = m.Origin(f"gate-{key}", request.trigger, where.account, where.region)
    build = m.Build(origin, key, target, request)
    [outcome] = execute([build], starter.settings, cache, starter.launcher, clock)
    return after_start(label, verdict, outcome)


def after_start(label: str, verdict: GateVerdict, outcome: m.Outcome) -> GateVerdict:
    """The verdict once the gate asked for a scan: pending when it started or another caller
    holds it; else the verdict as it was (an earlier error) or unknown, saying why."""
    before = "the last scan ended in error; " if verdict.outcome != "unknown" else ""
    if isinstance(outcome, m.Started):
        reason = f"{before}scan started (build {outcome.build_id})"
    elif outcome.reason in (m.ALREADY_SCANNED, m.SCAN_IN_PROGRESS):
        reason = f"{before}{outcome.reason}: another caller holds the scan"
    elif verdict.outcome != "unknown":
        return verdict
    else:
        reason = f"{verdict.reason}; scan not started: {outcome.reason}"
        return GateVerdict(label, "unknown", reason, None, verdict.vulnerability_data)
    return GateVerdict(label, "pending", reason, None, verdict.vulnerability_data)
