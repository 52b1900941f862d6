"""Run one build of a buildspec the way CodeBuild does, on this machine.

Order and rules (CodeBuild's "build phase transitions"): PROVISIONING resolves the environment
(buildspec `env.variables` < `parameter-store`/`secrets-manager` < project variables < StartBuild
overrides, then `CODEBUILD_*`); INSTALL, PRE_BUILD, BUILD, POST_BUILD run in one shell; a phase
stops at its first failing command, then runs its `finally` block; with `on-failure: ABORT` a
failed INSTALL or PRE_BUILD skips to FINALIZING, a failed BUILD still runs POST_BUILD;
UPLOAD_ARTIFACTS collects artifacts and reports; exported variables are read from the shell at
the end of the last phase that ran. Any failed phase makes the build FAILED; a timeout TIMED_OUT.
The job's compute tier (`tiers`: ec2 or lambda) adds what Lambda compute refuses or forbids.
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from scanner_runner.devtools.localbuild import cache, tiers
from scanner_runner.devtools.localbuild.artifacts import collect_artifacts
from scanner_runner.devtools.localbuild.buildspec import Buildspec, Phase, load_buildspec
from scanner_runner.devtools.localbuild.errors import LocalBuildError, SecretResolutionError
from scanner_runner.devtools.localbuild.model import ENV_TYPES, BuildJob, BuildResult, PhaseResult
from scanner_runner.devtools.localbuild.reports import Report, collect_report
from scanner_runner.devtools.localbuild.secrets import resolve_parameter, resolve_secret
from scanner_runner.devtools.localbuild.shell import BuildShell, CommandTimeout, OutputSink

PhaseSink = Callable[[str, str], None]  # (phase_type, status)
ABORTING_PHASES = frozenset({"install", "pre_build"})


def new_build_id(project: str) -> str:
    """A CodeBuild-shaped build id: `<project>:<uuid4>`."""
    return f"{project}:{uuid.uuid4()}"


def run_build(
    job: BuildJob,
    *,
    secrets_client: Any = None,
    ssm_client: Any = None,
    output: OutputSink | None = None,
    on_phase: PhaseSink | None = None,
) -> BuildResult:
    """Run `job` to completion and return its result; the build's status is the verdict.

    Raises `LocalBuildError` only when the build cannot be attempted (bad buildspec or override).
    """
    for var in (*job.project_env, *job.overrides):
        if var.name.startswith("CODEBUILD_"):
            raise LocalBuildError(
                f"environment variable names starting CODEBUILD_ are reserved: {var.name}"
            )
        if var.type not in ENV_TYPES:
            raise LocalBuildError(f"unknown environment variable type {var.type} for {var.name}")
    spec = load_buildspec(job.src_dir / job.buildspec)
    tiers.check_tier(job.compute_tier, spec, job.buildspec)
    job.build_dir.mkdir(parents=True, exist_ok=True)
    with (job.build_dir / "build.log").open("w", encoding="utf-8") as log:
        run = _Run(
            job=job,
            spec=spec,
            log=log,
            secrets_client=secrets_client,
            ssm_client=ssm_client,
            output=output,
            on_phase=on_phase,
        )
        try:
            return run.execute()
        finally:
            run.tier.finish()


class _Run:
    def __init__(
        self,
        *,
        job: BuildJob,
        spec: Buildspec,
        log: TextIO,
        secrets_client: Any,
        ssm_client: Any,
        output: OutputSink | None,
        on_phase: PhaseSink | None,
    ) -> None:
        self.job, self.spec, self.log = job, spec, log
        self.secrets_client, self.ssm_client = secrets_client, ssm_client
        self.output, self.on_phase = output, on_phase
        self.phases: list[PhaseResult] = []
        self.started = time.time()
        self.tier = tiers.prepare(job, spec)
        self.deadline = time.monotonic() + self.tier.seconds
        self.home = Path(self.tier.dirs["HOME"])
        self.masked: list[str] = []
        self.log_lock = threading.Lock()  # the shell's reader thread writes too

    def execute(self) -> BuildResult:
        for phase_type in ("SUBMITTED", "QUEUED"):
            self._phase_done(phase_type, "SUCCEEDED", 0.0)
        started = time.monotonic()
        try:
            env = self._environment()
        except SecretResolutionError as exc:
            self._line(f"Phase context status code: Secrets Manager Error Message: {exc}")
            self._phase_done("PROVISIONING", "FAILED", time.monotonic() - started, str(exc))
            return self._finish("FAILED", {}, (), ())
        self._phase_done("PROVISIONING", "SUCCEEDED", time.monotonic() - started)
        restored = cache.restore(self.tier.cache_dir, self.home)
        self._line(f"Restored {restored} cached files" if restored else "No cache to restore")
        for note in self.tier.notes:
            self._line(note)
        self._phase_done("DOWNLOAD_SOURCE", "SUCCEEDED", 0.0)

        shell = self._new_shell(env)
        status, exported, ran_build = "SUCCEEDED", {}, False
        try:
            status, ran_build, shell = self._run_phases(shell, env)
            if shell.alive:
                current = shell.environment(deadline=self.deadline + 30)
                exported = {k: current[k] for k in self.spec.exported_variables if k in current}
        except BaseException:  # Ctrl-C or a bug: nothing the build started may outlive it
            shell.kill()
            raise
        shell.close()
        upload_started = time.monotonic()
        artifacts = self._artifacts() if ran_build else ()
        reports = tuple(collect_report(r, self.job.src_dir) for r in self.spec.reports)
        for report in reports:
            self._line(
                f"Report {report.group}: {report.status} {len(report.cases)} cases {report.message}"
            )
        self._phase_done("UPLOAD_ARTIFACTS", "SUCCEEDED", time.monotonic() - upload_started)
        saved = cache.save(self.tier.cache_dir, self.home, self.spec.cache_paths)
        self._line(f"Saved {saved} files to the cache")
        return self._finish(status, exported, reports, artifacts)

    def _run_phases(self, shell: BuildShell, env: dict[str, str]) -> tuple[str, bool, BuildShell]:
        status, skip_to_finalizing, ran_build = "SUCCEEDED", False, False
        for phase in self.spec.phases:
            if skip_to_finalizing:
                break
            try:
                shell.set_variable(
                    "CODEBUILD_BUILD_SUCCEEDING",
                    "1" if status == "SUCCEEDED" else "0",
                    deadline=self.deadline,
                )
                ok, shell = self._run_phase(phase, shell, env)
            except CommandTimeout:
                self._line(f"Build timed out in phase {phase.phase_type}")
                self._phase_done(phase.phase_type, "TIMED_OUT", 0.0, "build timed out")
                return "TIMED_OUT", ran_build, shell
            ran_build = ran_build or phase.name in {"build", "post_build"}
            if not ok:
                status = "FAILED"
                if phase.on_failure == "ABORT" and phase.name in ABORTING_PHASES:
                    skip_to_finalizing = True
        return status, ran_build, shell

    def _run_phase(
        self, phase: Phase, shell: BuildShell, env: dict[str, str]
    ) -> tuple[bool, BuildShell]:
        started = time.monotonic()
        self._line(f"Entering phase {phase.phase_type}")
        failure = ""
        for block in (phase.commands, phase.finally_commands):
            for command in block:
                self._line(f"Running command {command}")
                code = shell.run(command, deadline=self.deadline)
                written = self.tier.guard.changed() if self.tier.guard else []
                if written:
                    self._line(f"Lambda compute: read-only file system: {', '.join(written[:5])}")
                    code = code or 1
                if (
                    not shell.alive
                ):  # the command ended the shell (`exit`); later ones get a new one
                    shell = self._new_shell(env)
                if code != 0:
                    self._line(f"Command did not exit successfully {command} exit status {code}")
                    failure = (
                        failure
                        or f"Error while executing command: {command}. Reason: exit status {code}"
                    )
                    break
        status = "FAILED" if failure else "SUCCEEDED"
        if failure:
            self._line(f"Phase context status code: COMMAND_EXECUTION_ERROR Message: {failure}")
        self._line(f"Phase complete: {phase.phase_type} State: {status}")
        self._phase_done(phase.phase_type, status, time.monotonic() - started, failure)
        return not failure, shell

    def _environment(self) -> dict[str, str]:
        spec, job = self.spec, self.job
        env = dict(job.base_env)
        env.update(spec.variables)
        for name, parameter in spec.parameter_store.items():
            env[name] = self._secret(resolve_parameter(self._client("ssm"), parameter))
        for name, reference in spec.secrets_manager.items():
            env[name] = self._secret(resolve_secret(self._client("secretsmanager"), reference))
        for var in (*job.project_env, *job.overrides):
            if var.type == "PLAINTEXT":
                env[var.name] = var.value
            elif var.type == "PARAMETER_STORE":
                env[var.name] = self._secret(resolve_parameter(self._client("ssm"), var.value))
            else:
                env[var.name] = self._secret(
                    resolve_secret(self._client("secretsmanager"), var.value)
                )
        env.update(self.tier.dirs)
        env.update(
            AWS_REGION=job.region,
            AWS_DEFAULT_REGION=job.region,
            CODEBUILD_BUILD_ID=job.build_id,
            CODEBUILD_BUILD_ARN=job.arn,
            CODEBUILD_BUILD_NUMBER=str(job.build_number),
            CODEBUILD_BUILD_IMAGE="deployscan/local-executor",
            CODEBUILD_BUILD_SUCCEEDING="1",
            CODEBUILD_INITIATOR=job.initiator,
            CODEBUILD_LOG_PATH=job.build_id.partition(":")[2],
            CODEBUILD_SRC_DIR=str(job.src_dir),
            CODEBUILD_START_TIME=str(int(self.started * 1000)),
        )
        return env

    def _client(self, service: str) -> Any:
        client = self.ssm_client if service == "ssm" else self.secrets_client
        if client is None:
            raise SecretResolutionError(f"the buildspec needs {service} but no client was given")
        return client

    def _secret(self, value: str) -> str:
        self.masked.append(value)
        return value

    def _new_shell(self, env: dict[str, str]) -> BuildShell:
        return BuildShell(
            shell=shutil.which(self.spec.shell) or self.spec.shell,
            env=env,
            cwd=self.job.src_dir,
            script_dir=self.job.build_dir / "commands",
            output=self._output_line,
            masked=self.masked,
        )

    def _artifacts(self) -> tuple[Path, ...]:
        copied = collect_artifacts(self.spec.artifacts, self.job.src_dir, self.job.build_dir)
        if self.spec.artifacts is not None:
            self._line(f"Uploaded {len(copied)} artifact files")
        return tuple(copied)

    def _finish(
        self,
        status: str,
        exported: dict[str, str],
        reports: tuple[Report, ...],
        artifacts: tuple[Path, ...],
    ) -> BuildResult:
        self._phase_done("FINALIZING", "SUCCEEDED", 0.0)
        self._phase_done("COMPLETED", status, 0.0)
        self.log.flush()
        return BuildResult(
            build_id=self.job.build_id,
            arn=self.job.arn,
            build_number=self.job.build_number,
            status=status,
            phases=tuple(self.phases),
            exported_variables=exported,
            reports=reports,
            artifacts=artifacts,
            log_path=self.job.build_dir / "build.log",
            started_at=self.started,
            ended_at=time.time(),
        )

    def _phase_done(self, phase_type: str, status: str, duration: float, message: str = "") -> None:
        self.phases.append(PhaseResult(phase_type, status, round(duration, 3), message))
        if self.on_phase is not None:
            self.on_phase(phase_type, status)

    def _line(self, text: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y/%m/%d %H:%M:%S.%f")
        self._output_line(f"[Container] {stamp} {text}")

    def _output_line(self, line: str) -> None:
        with self.log_lock:
            self.log.write(line + "\n")
            if self.output is not None:
                self.output(line)
