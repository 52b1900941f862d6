"""Follow one CodeBuild build to its end: phase changes, the tail of its log, then the verdict.

Clients, `sleep` and the clock are injected. The verdict comes from the build's exported
variables (status, exit code, counts, report URI); a build that never exported a verdict is an
error (exit 3) whatever its status: fail closed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from dispatcher.buildvars import SCAN_COUNTS, SCAN_EXIT_CODE, SCAN_REPORT_URI, SCAN_STATUS
from dispatcher.exitcodes import ExitCode, for_status
from scanner_runner.errors import WatchError


@dataclass(frozen=True)
class Verdict:
    """How a finished scan build ended."""

    build_id: str
    build_status: str
    scan_status: str  # passed | failed | error
    exit_code: int
    counts: dict[str, str] = field(default_factory=dict)
    report_uri: str | None = None
    console_url: str | None = None

    def lines(self) -> list[str]:
        """The closing lines `start-build --wait` prints."""
        counts = " ".join(f"{k.removeprefix('SCAN_').lower()}={v}" for k, v in self.counts.items())
        out = [f"verdict: {self.scan_status} (build {self.build_status}, exit {self.exit_code})"]
        if counts:
            out.append(f"counts: {counts}")
        out.append(f"report: {self.report_uri or '(not published)'}")
        if self.console_url:
            out.append(f"build: {self.console_url}")
        return out


def console_url(build: dict[str, Any]) -> str | None:
    """The CodeBuild console page of a build (its Reports tab is one click away)."""
    arn, build_id = build.get("arn", ""), build.get("id", "")
    parts = arn.split(":")
    if len(parts) < 6 or not build_id:
        return None
    region, project = parts[3], build_id.partition(":")[0]
    return (
        f"https://{region}.console.aws.amazon.com/codesuite/codebuild/{parts[4]}/projects/"
        f"{quote(project, safe='')}/build/{quote(build_id, safe='')}/?region={region}"
    )


def verdict_of(build: dict[str, Any]) -> Verdict:
    """Map a finished build (BatchGetBuilds item) to the scan verdict and exit code."""
    exported = {
        v.get("name"): v.get("value", "") for v in build.get("exportedEnvironmentVariables") or []
    }
    status = build.get("buildStatus", "UNKNOWN")
    code_text = exported.get(SCAN_EXIT_CODE, "")
    scan_status = exported.get(SCAN_STATUS, "")
    exit_code = int(code_text) if code_text in {"0", "1", "3"} else ExitCode.ERROR
    if scan_status not in {"passed", "failed", "error"} or exit_code != for_status(scan_status):
        # No verdict, or one that contradicts itself: a build without a scan is never a pass.
        exit_code, scan_status = ExitCode.ERROR, "error"
    if status != "SUCCEEDED" and exit_code == ExitCode.PASSED:
        exit_code, scan_status = (
            ExitCode.ERROR,
            "error",
        )  # the scan passed, the build did not finish
    return Verdict(
        build_id=build.get("id", ""),
        build_status=status,
        scan_status=scan_status,
        exit_code=int(exit_code),
        counts={k: exported[k] for k in SCAN_COUNTS if k in exported},
        report_uri=exported.get(SCAN_REPORT_URI) or None,
        console_url=console_url(build),
    )


class BuildWatcher:
    """Polls `codebuild:BatchGetBuilds` and `logs:GetLogEvents` until the build completes."""

    def __init__(
        self,
        codebuild: Any,
        logs: Any,
        *,
        out: Callable[[str], None],
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        interval: float = 5.0,
    ) -> None:
        self._codebuild, self._logs, self._out = codebuild, logs, out
        self._sleep, self._clock, self._interval = sleep, clock, interval
        self._phase: str | None = None
        self._log_token: str | None = None

    def follow(self, build_id: str, *, timeout: float = 3600.0) -> Verdict:
        """Print phase changes and new log lines until the build completes; return its verdict."""
        deadline = self._clock() + timeout
        while True:
            build = self._get(build_id)
            phase = build.get("currentPhase")
            if phase and phase != self._phase:
                self._out(f"phase: {phase}")
                self._phase = phase
            self._tail(build)
            if _complete(build):
                self._tail(build)
                return verdict_of(build)
            if self._clock() >= deadline:
                raise WatchError(f"build {build_id} still running after {int(timeout)} s")
            self._sleep(self._interval)

    def _get(self, build_id: str) -> dict[str, Any]:
        try:
            builds = self._codebuild.batch_get_builds(ids=[build_id]).get("builds") or []
        except Exception as exc:  # botocore errors, wrapped once at this seam
            raise WatchError(f"codebuild:BatchGetBuilds failed for {build_id}: {exc}") from exc
        if not builds:
            raise WatchError(f"no such build: {build_id}")
        build: dict[str, Any] = builds[0]
        return build

    def _tail(self, build: dict[str, Any]) -> None:
        info = build.get("logs") or {}
        group, stream = info.get("groupName"), info.get("streamName")
        if not group or not stream:
            return
        while True:
            kwargs: dict[str, Any] = {
                "logGroupName": group,
                "logStreamName": stream,
                "startFromHead": True,
            }
            if self._log_token:
                kwargs["nextToken"] = self._log_token
            try:
                response = self._logs.get_log_events(**kwargs)
            except Exception:  # the stream appears a little after the build starts
                return
            for event in response.get("events") or []:
                self._out(str(event.get("message", "")).rstrip("\n"))
            token = response.get("nextForwardToken")
            if not token or token == self._log_token:
                return
            self._log_token = token


def _complete(build: dict[str, Any]) -> bool:
    """Done when CodeBuild says so, or when the status left IN_PROGRESS (moto never sets
    `buildComplete`)."""
    status = build.get("buildStatus")
    return bool(build.get("buildComplete")) or (status is not None and status != "IN_PROGRESS")
