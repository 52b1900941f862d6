"""Executing a plan: lease each image in the scan cache, start its build, release on failure.

Every failure of a build decision becomes a `Skip` with `retry=True`, which makes its SQS record a
batch item failure; other decisions of the batch go on.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from dispatcher import model as m
from dispatcher.dedup import LAUNCH_WINDOW_SECONDS, Memo, new_lease_id
from dispatcher.errors import BuildRequestError, CacheError, LaunchError
from dispatcher.launch import Launcher
from dispatcher.scancache import Held, ScanCacheTable
from dispatcher.settings import Settings
from dispatcher.tiers import lease_seconds, retry_tier

Clock = Callable[[], float]
log = logging.getLogger(__name__)


def execute(
    decisions: Iterable[m.Decision],
    settings: Settings,
    cache: ScanCacheTable,
    launcher: Launcher,
    clock: Clock,
    *,
    memo: Memo | None = None,
    new_id: Callable[[], str] = new_lease_id,
) -> list[m.Outcome]:
    """Carry out the decisions in order; skips pass through unchanged."""
    run = _Executor(settings, cache, launcher, clock, memo if memo is not None else Memo(), new_id)
    return [run.build(d) if isinstance(d, m.Build) else d for d in decisions]


@dataclass
class _Executor:
    settings: Settings
    cache: ScanCacheTable
    launcher: Launcher
    clock: Clock
    memo: Memo
    new_id: Callable[[], str]

    def build(self, build: m.Build) -> m.Outcome:
        def skip(reason: str, detail: str = "", *, retry: bool = False) -> m.Skip:
            digest = build.request.digest
            return m.Skip(build.origin, reason, build.image, digest, detail[:300], retry)

        now = self.clock()
        held = self.memo.get(build.key, now)
        if held is not None:
            return skip(held, "remembered in this process")
        lease_id = self.new_id()
        try:
            taken = self.cache.take(
                build.key,
                image=build.image,
                lease_id=lease_id,
                now=now,
                seconds=min(LAUNCH_WINDOW_SECONDS, self.settings.lease_seconds),
                ttl=self.settings.cache_ttl_hours * 3600,
            )
        except CacheError as exc:
            return skip(m.DEDUP_UNAVAILABLE, str(exc), retry=True)
        if isinstance(taken, Held):
            reason = m.ALREADY_SCANNED if taken.completed else m.SCAN_IN_PROGRESS
            if not taken.settled:  # retried until that build shows up or its short lease ends
                return skip(reason, "the lease holder has started no build yet", retry=True)
            self.memo.put(build.key, reason, now)
            return skip(reason)
        request = replace(build.request, lease_id=lease_id)
        moved = retry_tier(request.compute_tier, taken.replaced)  # the last Lambda build failed
        if moved is not None:
            tiers = self.settings.tiers
            request = replace(request, project=tiers.project(moved.tier), compute_tier=moved.tier)
            build = replace(build, tier_reason=moved.reason)
        try:
            build_id = self.launcher.start(request)
        except Exception as exc:  # any Launcher (CodeBuild, the demo's local one) may fail
            with contextlib.suppress(CacheError):  # else the lease expires after LEASE_MINUTES
                self.cache.release(build.key, lease_id)
            reason, retry = _launch_failure(exc)
            if not isinstance(exc, LaunchError):
                log.exception("launcher failed unexpectedly for %s", build.image[:300])
            detail = str(exc) if isinstance(exc, LaunchError) else f"{type(exc).__name__}: {exc}"
            return skip(reason, detail, retry=retry)
        self.memo.put(build.key, m.SCAN_IN_PROGRESS, now)
        with contextlib.suppress(CacheError):  # the lease stands; only the breadcrumb is missing
            seconds = lease_seconds(request.compute_tier, self.settings.lease_seconds)
            self.cache.started(
                build.key, lease_id, build_id, self.clock(), seconds, tier=request.compute_tier
            )
        return m.Started(replace(build, request=request), build_id)


def _launch_failure(exc: Exception) -> tuple[str, bool]:
    """Skip reason and retry for a failed launch: only an unsendable request is not retried."""
    if isinstance(exc, BuildRequestError):
        return m.INVALID_BUILD_REQUEST, False
    if isinstance(exc, LaunchError) and exc.throttled:
        return m.LAUNCH_THROTTLED, True
    return m.LAUNCH_FAILED, True
