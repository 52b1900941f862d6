"""The local executor follows CodeBuild's phase rules, one shell per build, env precedence."""

from __future__ import annotations

import time

import pytest

from scanner_runner.devtools.localbuild.errors import BuildspecError, LocalBuildError
from scanner_runner.devtools.localbuild.executor import run_build
from scanner_runner.devtools.localbuild.model import EnvVar
from tests.localbuild.conftest import MakeJob


def statuses(result: object) -> dict[str, str]:
    return {p.phase_type: p.status for p in result.phases}  # type: ignore[attr-defined]


def test_phases_share_one_shell_and_export_variables(make_job: MakeJob) -> None:
    job = make_job(
        """
        version: 0.2
        env:
          variables: {GREETING: hello}
          exported-variables: [RESULT, NOT_SET, WHERE]
        phases:
          install:
            commands:
              - export RESULT="$GREETING from install"
              - mkdir -p sub && cd sub
          pre_build:
            commands:
              - LOCAL_ONLY=kept
          build:
            commands:
              - export RESULT="$RESULT, build saw $LOCAL_ONLY"
          post_build:
            commands:
              - export WHERE="$(basename "$PWD")"
        """
    )
    lines: list[str] = []
    result = run_build(job, output=lines.append)
    assert result.status == "SUCCEEDED"
    assert result.exported_variables == {
        "RESULT": "hello from install, build saw kept",
        "WHERE": "sub",
    }
    assert [p.phase_type for p in result.phases] == [
        "SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD",
        "BUILD", "POST_BUILD", "UPLOAD_ARTIFACTS", "FINALIZING", "COMPLETED",
    ]  # fmt: skip
    assert any("Entering phase BUILD" in line for line in lines)
    assert (job.build_dir / "build.log").read_text().count("Running command") == 5


def test_codebuild_variables_are_set(make_job: MakeJob) -> None:
    job = make_job(
        """
        version: 0.2
        env:
          exported-variables: [SEEN]
        phases:
          build:
            commands:
              - export SEEN="$CODEBUILD_BUILD_ID|$CODEBUILD_BUILD_NUMBER|$CODEBUILD_SRC_DIR"
              - SEEN="$SEEN|$CODEBUILD_BUILD_SUCCEEDING|$AWS_REGION|$PWD"
        """
    )
    result = run_build(job)
    build_id, number, src, succeeding, region, cwd = result.exported_variables["SEEN"].split("|")
    assert build_id == job.build_id and build_id.startswith("demo-scan:")
    assert number == str(job.build_number)
    assert src == cwd == str(job.src_dir)
    assert (succeeding, region) == ("1", "us-east-1")
    assert result.arn == f"arn:aws:codebuild:us-east-1:123456789012:build/{job.build_id}"


def test_failed_build_phase_still_runs_finally_and_post_build(make_job: MakeJob) -> None:
    job = make_job(
        """
        version: 0.2
        env:
          exported-variables: [TRACE, SUCCEEDING]
        phases:
          build:
            commands:
              - export TRACE=build1
              - (exit 3)
              - export TRACE="$TRACE,skipped"
            finally:
              - export TRACE="$TRACE,finally"
          post_build:
            commands:
              - export TRACE="$TRACE,post" SUCCEEDING="$CODEBUILD_BUILD_SUCCEEDING"
        """
    )
    result = run_build(job)
    assert result.status == "FAILED"
    assert result.exported_variables == {"TRACE": "build1,finally,post", "SUCCEEDING": "0"}
    assert statuses(result)["BUILD"] == "FAILED"
    assert statuses(result)["POST_BUILD"] == "SUCCEEDED"
    assert "exit status 3" in result.phase("BUILD").message  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("on_failure", "ran"), [("ABORT", set()), ("CONTINUE", {"PRE_BUILD", "BUILD"})]
)
def test_failed_install_aborts_or_continues(
    make_job: MakeJob, on_failure: str, ran: set[str]
) -> None:
    job = make_job(
        f"""
        version: 0.2
        phases:
          install:
            on-failure: {on_failure}
            commands: ["false"]
          pre_build:
            commands: ["true"]
          build:
            commands: ["true"]
        """
    )
    result = run_build(job)
    assert result.status == "FAILED"
    assert set(statuses(result)) & {"PRE_BUILD", "BUILD"} == ran


def test_exit_ends_the_shell_but_not_the_build(make_job: MakeJob) -> None:
    job = make_job(
        """
        version: 0.2
        env:
          exported-variables: [AFTER]
        phases:
          build:
            commands: [exit 4]
          post_build:
            commands: [export AFTER=yes]
        """
    )
    result = run_build(job)
    assert result.status == "FAILED"
    assert result.exported_variables == {"AFTER": "yes"}
    assert "exit status 4" in result.phase("BUILD").message  # type: ignore[union-attr]


def test_override_beats_project_beats_buildspec(make_job: MakeJob) -> None:
    job = make_job(
        """
        version: 0.2
        env:
          variables: {A: spec, B: spec, C: spec}
          exported-variables: [A, B, C]
        phases:
          build:
            commands: ["true"]
        """,
        project_env=(EnvVar("B", "project"), EnvVar("C", "project")),
        overrides=(EnvVar("C", "override"),),
    )
    assert run_build(job).exported_variables == {"A": "spec", "B": "project", "C": "override"}


def test_reserved_override_is_refused(make_job: MakeJob) -> None:
    job = make_job('version: 0.2\nphases: {build: {commands: ["true"]}}\n',
                   overrides=(EnvVar("CODEBUILD_BUILD_ID", "x"),))  # fmt: skip
    with pytest.raises(LocalBuildError, match="reserved"):
        run_build(job)


def test_timeout_kills_the_shell_and_its_children(make_job: MakeJob) -> None:
    job = make_job(
        """
        version: 0.2
        phases:
          build:
            commands:
              - sleep 30 & echo $! > "$CODEBUILD_SRC_DIR/child.pid"; wait
        """,
        timeout_seconds=1.5,
    )
    started = time.monotonic()
    result = run_build(job)
    assert result.status == "TIMED_OUT"
    assert time.monotonic() - started < 10
    pid = int((job.src_dir / "child.pid").read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_a_bad_buildspec_is_refused_before_any_shell(make_job: MakeJob) -> None:
    job = make_job("version: 0.1\nphases: {build: {commands: [touch ran]}}\n")
    with pytest.raises(BuildspecError, match=r"0\.2"):
        run_build(job)
    assert not (job.src_dir / "ran").exists()
