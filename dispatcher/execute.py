"""Executing a plan: lease each image in the scan cache, start its build, release on failure.

Every failure of a build decision becomes a `Skip` with `retry=True`, which makes its SQS record a
batch item failure; other decisions of the batch go on. Once StartBuild refused for capacity,
launches on that project wait without asking (or taking leases) for CAPACITY_HOLD_SECONDS. SQS
records (their sent time in `arrivals`) also keep to the project's capacity line: while an older
generation of messages waits for a build slot, younger ones wait behind it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from dispatcher import model as m
from dispatcher.dedup import (
    LAUNCH_WINDOW_SECONDS,
    LINE_SECONDS,
    LINE_SLACK_SECONDS,
    Memo,
    new_lease_id,
)
from dispatcher.errors import BuildRequestError, CacheError, LaunchError
from dispatcher.launch import Launcher
from dispatcher.scancache import Held, ScanCacheTable, Taken
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
    arrivals: Mapping[str, float] | None = None,
) -> list[m.Outcome]:
    """Carry out the decisions in order; skips pass through unchanged.

    `arrivals`: record id -> when it was sent to SQS, for the records that keep to the line.
    """
    memo = memo if memo is not None else Memo()
    run = _Executor(settings, cache, launcher, clock, memo, new_id, arrivals or {})
    return [run.build(d) if isinstance(d, m.Build) else d for d in decisions]


@dataclass
class _Executor:
    settings: Settings
    cache: ScanCacheTable
    launcher: Launcher
    clock: Clock
    memo: Memo
    new_id: Callable[[], str]
    arrivals: Mapping[str, float]

    def build(self, build: m.Build) -> m.Outcome:
        now = self.clock()
        held = self.memo.get(build.key, now)
        if held is not None:
            return _skip(build, held, "remembered in this process")
        if waiting := self.waiting(build, now):
            return _skip(build, m.CAPACITY_FULL, waiting, retry=True)
        lease_id = self.new_id()
        try:
            taken = self.cache.take(
                build.key,
                image=build.image,
                lease_id=lease_id,
                now=now,
                seconds=min(LAUNCH_WINDOW_SECONDS, self.settings.lease_seconds),
                ttl=self.settings.max_scan_age(build.request.trigger),
            )
        except CacheError as exc:
            return _skip(build, m.DEDUP_UNAVAILABLE, str(exc), retry=True)
        if isinstance(taken, Held):
            reason = m.ALREADY_SCANNED if taken.completed else m.SCAN_IN_PROGRESS
            if not taken.settled:  # retried until that build shows up or its short lease ends
                detail = "the lease holder has started no build yet"
                return _skip(build, reason, detail, retry=True)
            self.memo.put(build.key, reason, now)
            return _skip(build, reason)
        return self.launch(build, lease_id, taken, now)

    def waiting(self, build: m.Build, now: float) -> str:
        """Why this launch waits without asking StartBuild ("" when it may ask)."""
        project = build.request.project
        if self.memo.capacity_full(project, now):
            return "StartBuild refused for capacity seconds ago"
        sent = self.arrivals.get(build.origin.record_id)
        if sent is not None and self.behind(project, sent, now):
            return "older deploys are waiting for a build slot"
        return ""

    def behind(self, project: str, sent: float, now: float) -> bool:
        """True when an older generation heads the project's capacity line."""
        known, end = self.memo.line(project, now)
        if not known:
            try:
                end = self.cache.line_end(project, now)
            except CacheError:  # launching out of order beats not launching
                end = None
            self.memo.note_line(project, now, end)
        return end is not None and sent > end

    def launch(self, build: m.Build, lease_id: str, taken: Taken, now: float) -> m.Outcome:
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
            if reason == m.CAPACITY_FULL:
                self.refused(build, request.project, self.clock())
            if not isinstance(exc, LaunchError):
                log.exception("launcher failed unexpectedly for %s", build.image[:300])
            detail = str(exc) if isinstance(exc, LaunchError) else f"{type(exc).__name__}: {exc}"
            return _skip(build, reason, detail, retry=retry)
        self.memo.put(build.key, m.SCAN_IN_PROGRESS, now)
        with contextlib.suppress(CacheError):  # the lease stands; only the breadcrumb is missing
            seconds = lease_seconds(request.compute_tier, self.settings.lease_seconds)
            self.cache.started(
                build.key, lease_id, build_id, self.clock(), seconds, tier=request.compute_tier
            )
        return m.Started(replace(build, request=request), build_id)

    def refused(self, build: m.Build, project: str, now: float) -> None:
        """StartBuild refused for capacity: hold off, and take this record's place in line."""
        self.memo.hold_capacity(project, now)
        sent = self.arrivals.get(build.origin.record_id)
        if sent is None:
            return
        with contextlib.suppress(CacheError):  # the line only orders; waiting works without it
            self.cache.wait_in_line(
                project, sent, now, slack=LINE_SLACK_SECONDS, seconds=LINE_SECONDS
            )
        self.memo.forget_line(project)


def _skip(build: m.Build, reason: str, detail: str = "", *, retry: bool = False) -> m.Skip:
    return m.Skip(
        build.origin, reason, build.image, build.request.digest, detail[:300], retry, build.code
    )


def _launch_failure(exc: Exception) -> tuple[str, bool]:
    """Skip reason and retry for a failed launch: only an unsendable request is not retried."""
    if isinstance(exc, BuildRequestError):
        return m.INVALID_BUILD_REQUEST, False
    if isinstance(exc, LaunchError) and exc.capacity:
        return m.CAPACITY_FULL, True
    if isinstance(exc, LaunchError) and exc.throttled:
        return m.LAUNCH_THROTTLED, True
    return m.LAUNCH_FAILED, True
