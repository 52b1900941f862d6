"""Values of the local build executor: what a build is given and what it produced."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dispatcher.buildvars import TIER_EC2
from scanner_runner.devtools.localbuild.reports import Report

ENV_TYPES = frozenset({"PLAINTEXT", "PARAMETER_STORE", "SECRETS_MANAGER"})


@dataclass(frozen=True)
class EnvVar:
    """A project or StartBuild environment variable (`environmentVariablesOverride` item)."""

    name: str
    value: str
    type: str = "PLAINTEXT"


@dataclass(frozen=True)
class BuildJob:
    """Everything one local build needs, decided before it starts."""

    project: str
    build_id: str  # "<project>:<uuid>", as CodeBuild names builds
    build_number: int
    region: str
    account: str
    src_dir: Path  # CODEBUILD_SRC_DIR: the source, with the buildspec inside
    build_dir: Path  # the executor's own files: log, command scripts, HOME, artifacts
    buildspec: str = "buildspecs/scan.yml"  # relative to src_dir, like `buildspecOverride`
    base_env: Mapping[str, str] = field(default_factory=dict)  # the "build image" environment
    project_env: tuple[EnvVar, ...] = ()
    overrides: tuple[EnvVar, ...] = ()
    timeout_seconds: float = 3600.0
    initiator: str = "deployscan-local"
    cache_dir: Path | None = None  # shared between builds of the project, like an S3 cache
    compute_tier: str = TIER_EC2  # ec2 | lambda (see tiers.py for what lambda adds)
    source_writable: bool = True  # False: a Lambda build may not write to its source either

    @property
    def arn(self) -> str:
        """The build's ARN."""
        return f"arn:aws:codebuild:{self.region}:{self.account}:build/{self.build_id}"


@dataclass(frozen=True)
class PhaseResult:
    """One entry of the build's `phases` list."""

    phase_type: str
    status: str  # SUCCEEDED | FAILED | FAULT | TIMED_OUT | STOPPED
    duration_seconds: float = 0.0
    message: str = ""


@dataclass(frozen=True)
class BuildResult:
    """What a finished local build reports, shaped like BatchGetBuilds' `build`."""

    build_id: str
    arn: str
    build_number: int
    status: str  # SUCCEEDED | FAILED | FAULT | TIMED_OUT
    phases: tuple[PhaseResult, ...]
    exported_variables: Mapping[str, str]
    reports: tuple[Report, ...]
    artifacts: tuple[Path, ...]
    log_path: Path
    started_at: float
    ended_at: float

    @property
    def succeeded(self) -> bool:
        """True when the build status is SUCCEEDED."""
        return self.status == "SUCCEEDED"

    def phase(self, phase_type: str) -> PhaseResult | None:
        """The result of one phase, if it ran."""
        return next((p for p in self.phases if p.phase_type == phase_type), None)

    def log_tail(self, lines: int = 20) -> list[str]:
        """The last `lines` lines of the build log."""
        return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
