"""`LocalBuildLauncher`: the dispatcher's `Launcher` seam, backed by the local executor.

`start(request)` does what `StartBuild` does for the scan project (the request's variables become
PLAINTEXT overrides on top of the project's environment). Each build gets a fresh copy of the
runner bundle, laid out by the source's own `scripts/package.py --stage` (no devtools; the
wheelhouse for this machine from the wheel cache, `make wheelhouse`), and the buildspec installs
the runner from it as in CodeBuild, so the build runs the bundle's code, never the caller's.
The request's compute tier (else the project's; `ec2` or `lambda`, see `tiers`) is what the
emulated build environment enforces.
By default `start` runs the build to completion before it returns the build id; with
`deferred=True` it only queues the build, as CodeBuild does, and `run_pending()` runs the queue.
`results[build_id]` holds what BatchGetBuilds would show.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dispatcher.buildvars import TIER_EC2, BuildRequest
from dispatcher.errors import LaunchError
from scanner_runner.devtools.localbuild.errors import LocalBuildError
from scanner_runner.devtools.localbuild.executor import PhaseSink, new_build_id, run_build
from scanner_runner.devtools.localbuild.model import BuildJob, BuildResult, EnvVar
from scanner_runner.devtools.localbuild.shell import OutputSink

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# The packager defines the runner bundle once; a local build's source is what it lays out.
PACKAGER = "scripts/package.py"
STAGE_TIMEOUT = 300


@dataclass(frozen=True)
class LocalProject:
    """The emulated CodeBuild project: its source, environment and where builds may write."""

    name: str
    source_dir: Path  # a checkout: its scripts/package.py says which files a build gets
    work_root: Path
    region: str = "us-east-1"
    account: str = "123456789012"
    environment: tuple[EnvVar, ...] = ()  # the project's environment variables
    base_env: Mapping[str, str] = field(default_factory=dict)  # the build image's environment
    buildspec: str = "buildspecs/scan.yml"
    timeout_seconds: float = 900.0
    compute_tier: str = TIER_EC2  # the tier of a request that names none (see tiers.py)
    source_writable: bool = True  # lambda only: False makes the build's source read-only too


class LocalBuildLauncher:
    """Runs one local build per `start`; a `Launcher` for the dispatcher and `start-build`."""

    def __init__(
        self,
        project: LocalProject,
        *,
        secrets_client: Any = None,
        ssm_client: Any = None,
        output: OutputSink | None = None,
        on_phase: PhaseSink | None = None,
        on_result: Callable[[BuildRequest, BuildResult], None] | None = None,
        deferred: bool = False,
    ) -> None:
        self.project = project
        self.results: dict[str, BuildResult] = {}
        self._secrets_client = secrets_client
        self._ssm_client = ssm_client
        self._output = output
        self._on_phase = on_phase
        self._on_result = on_result
        self._numbers = itertools.count(1)
        self._deferred = deferred
        self.pending: list[tuple[BuildRequest, str, int]] = []

    def start(self, request: BuildRequest) -> str:
        """Start (or queue) the build for `request` and return its id; raise `LaunchError`."""
        if self._deferred:
            self._check(request)
            build_id = new_build_id(self.project.name)
            self.pending.append((request, build_id, next(self._numbers)))
            return build_id
        return self.run(request).build_id

    def run_pending(self) -> list[BuildResult]:
        """Run every queued build in start order; return their results."""
        done = []
        while self.pending:
            request, build_id, number = self.pending.pop(0)
            done.append(self._run(request, build_id, number))
        return done

    def run(self, request: BuildRequest) -> BuildResult:
        """Run one build now and return the whole result."""
        self._check(request)
        return self._run(request, new_build_id(self.project.name), next(self._numbers))

    def _check(self, request: BuildRequest) -> None:
        if request.project != self.project.name:
            raise LaunchError(f"no such project: {request.project}")
        request.environment()  # raises BuildRequestError before anything is queued

    def _run(self, request: BuildRequest, build_id: str, number: int) -> BuildResult:
        overrides = tuple(EnvVar(k, v) for k, v in request.environment().items())
        build_dir = self.project.work_root / "builds" / f"{number:03d}-{build_id.partition(':')[2]}"
        src_dir = copy_source(self.project.source_dir, build_dir / "src")
        job = BuildJob(
            project=self.project.name,
            build_id=build_id,
            build_number=number,
            region=self.project.region,
            account=self.project.account,
            src_dir=src_dir,
            build_dir=build_dir,
            buildspec=self.project.buildspec,
            base_env=self.project.base_env,
            project_env=self.project.environment,
            overrides=overrides,
            timeout_seconds=self.project.timeout_seconds,
            cache_dir=self.project.work_root / "cache",
            compute_tier=request.compute_tier or self.project.compute_tier,
            source_writable=self.project.source_writable,
        )
        try:
            result = run_build(
                job,
                secrets_client=self._secrets_client,
                ssm_client=self._ssm_client,
                output=self._output,
                on_phase=self._on_phase,
            )
        except LocalBuildError as exc:
            raise LaunchError(f"local build could not start: {exc}") from exc
        self.results[build_id] = result
        if self._on_result is not None:
            self._on_result(request, result)
        return result


def copy_source(source_dir: Path, target: Path) -> Path:
    """Lay out a fresh build source, as CodeBuild's DOWNLOAD_SOURCE of the bundle does.

    The checkout's own packager does it (`--stage`, this machine's wheels); raises LaunchError.
    """
    packager = source_dir / PACKAGER
    if not packager.is_file():
        raise LaunchError(f"{source_dir} has no {PACKAGER}: a local build needs a checkout")
    command = [sys.executable, str(packager), "--root", str(source_dir), "--stage", str(target),
               "--targets", "host"]  # fmt: skip
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=STAGE_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise LaunchError(
            f"{source_dir}: laying out the bundle took over {STAGE_TIMEOUT} s"
        ) from exc
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        raise LaunchError(f"{source_dir}: {reason[0]}")
    return target


def build_image_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The local "build image": this Python's bin folder (with `deployscan`) first on PATH.

    Nothing else is inherited from the caller's environment; add what the build needs in `extra`.
    """
    venv_bin = str(Path(sys.executable).parent)
    return {"PATH": f"{venv_bin}:{SYSTEM_PATH}", "LANG": "C.UTF-8", **(extra or {})}
