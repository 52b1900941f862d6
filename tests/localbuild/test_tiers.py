"""The two compute tiers: what Lambda compute refuses up front and forbids while it runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scanner_runner.devtools.localbuild import tiers
from scanner_runner.devtools.localbuild.buildspec import parse_buildspec
from scanner_runner.devtools.localbuild.errors import BuildspecError, LocalBuildError
from scanner_runner.devtools.localbuild.executor import run_build
from scanner_runner.devtools.localbuild.model import BuildResult
from tests.localbuild.conftest import MakeJob

WITH_EC2_ONLY_PARTS = """
version: 0.2
phases:
  install:
    runtime-versions:
      python: 3.12
    commands:
      - echo installing
  build:
    on-failure: CONTINUE
    commands:
      - echo building
cache:
  paths:
    - /root/.cache/pip/**/*
"""
WRITES = """
version: 0.2
env:
  exported-variables: [DIRS]
phases:
  build:
    commands:
      - export DIRS="$HOME|$TMPDIR"
      - echo scratch > "$TMPDIR/scratch.txt"
      - {command}
      - echo after
"""


def statuses(result: BuildResult) -> dict[str, str]:
    return {p.phase_type: p.status for p in result.phases}


def test_lambda_refuses_runtime_versions_on_failure_and_cache_before_any_command(
    make_job: MakeJob,
) -> None:
    job = make_job(WITH_EC2_ONLY_PARTS, compute_tier="lambda")
    with pytest.raises(BuildspecError) as refused:
        run_build(job)
    message = str(refused.value)
    assert "Lambda compute does not support" in message
    for part in ("phases.install.runtime-versions", "phases.build.on-failure", "cache.paths"):
        assert part in message
    assert not (job.build_dir / "build.log").exists()  # no shell ever ran


def test_ec2_runs_the_same_buildspec_and_notes_the_runtime_it_does_not_switch(
    make_job: MakeJob,
) -> None:
    job = make_job(WITH_EC2_ONLY_PARTS, compute_tier="ec2")
    result = run_build(job)
    assert result.succeeded, result.log_tail()
    assert "runtime-versions python: 3.12 noted" in result.log_path.read_text()


def test_runtime_versions_belong_to_the_install_phase_only() -> None:
    text = "version: 0.2\nphases:\n  build:\n    runtime-versions: {python: 3.12}\n"
    with pytest.raises(BuildspecError, match="install phase only"):
        parse_buildspec(text + "    commands: [echo]\n")


def test_an_unknown_tier_is_refused(make_job: MakeJob) -> None:
    with pytest.raises(LocalBuildError, match="unknown compute tier 'fargate'"):
        run_build(make_job(WRITES.format(command="echo ok"), compute_tier="fargate"))


def test_lambda_home_and_tmpdir_are_the_build_temp_folder(make_job: MakeJob) -> None:
    job = make_job(WRITES.format(command="echo out > in-the-source.txt"), compute_tier="lambda")
    result = run_build(job)
    assert result.succeeded, result.log_tail()
    tmp = job.build_dir / "tmp"
    assert result.exported_variables["DIRS"] == f"{tmp}|{tmp}"
    assert (tmp / "scratch.txt").is_file()
    assert (job.src_dir / "in-the-source.txt").is_file()  # the source is writable by default


@pytest.fixture
def image_bin(tmp_path: Path) -> Path:
    """A folder of the 'build image' (on its PATH): Lambda compute may not write there."""
    folder = tmp_path / "image-bin"
    folder.mkdir()
    return folder


def image_env(image_bin: Path) -> dict[str, str]:
    return {"PATH": f"{image_bin}:{os.environ['PATH']}", "LANG": "C.UTF-8"}


def test_lambda_fails_a_command_that_writes_into_the_build_image(
    make_job: MakeJob, image_bin: Path
) -> None:
    command = f"echo x > {image_bin}/tool"
    job = make_job(
        WRITES.format(command=command), compute_tier="lambda", base_env=image_env(image_bin)
    )
    result = run_build(job)
    assert result.status == "FAILED"
    assert statuses(result)["BUILD"] == "FAILED"
    log = result.log_path.read_text()
    assert f"Lambda compute: read-only file system: {image_bin}/tool" in log
    assert "after" not in [line.strip() for line in log.splitlines()]  # the phase stopped there


def test_ec2_lets_the_same_command_write_there(make_job: MakeJob, image_bin: Path) -> None:
    command = f"echo x > {image_bin}/tool"
    job = make_job(WRITES.format(command=command), base_env=image_env(image_bin))
    assert run_build(job).succeeded


def test_lambda_with_a_read_only_source_fails_a_write_to_it_and_keeps_tmp_usable(
    make_job: MakeJob,
) -> None:
    job = make_job(
        WRITES.format(command="echo out > in-the-source.txt"),
        compute_tier="lambda",
        source_writable=False,
    )
    result = run_build(job)
    assert result.status == "FAILED"
    log = result.log_path.read_text()
    # as root the write lands and the check after the command fails it; else chmod refuses it
    assert "in-the-source.txt" in log
    assert (job.build_dir / "tmp" / "scratch.txt").is_file()
    assert os.access(job.src_dir, os.W_OK)  # write permission is given back afterwards


def test_lambda_with_a_read_only_source_passes_a_build_that_writes_only_to_tmp(
    make_job: MakeJob,
) -> None:
    job = make_job(
        WRITES.format(command='cat buildspecs/test.yml > "$TMPDIR/copy.yml"'),
        compute_tier="lambda",
        source_writable=False,
    )
    result = run_build(job)
    assert result.succeeded, result.log_tail()


def test_lambda_caps_the_build_at_fifteen_minutes_and_keeps_no_cache(make_job: MakeJob) -> None:
    job = make_job(WRITES.format(command="echo ok"), compute_tier="lambda", timeout_seconds=3600.0)
    run = tiers.prepare(job, parse_buildspec(WRITES.format(command="echo ok")))
    assert run.seconds == tiers.LAMBDA_MAX_SECONDS == 900
    assert run.cache_dir is None
    text = WRITES.format(command="echo ok")
    ec2 = tiers.prepare(make_job(text), parse_buildspec(text))
    assert ec2.guard is None


def test_the_write_guard_sees_new_changed_and_removed_entries_not_bytecode(
    tmp_path: Path,
) -> None:
    shallow, deep = tmp_path / "site", tmp_path / "src"
    (deep / "pkg").mkdir(parents=True)
    shallow.mkdir()
    (deep / "pkg" / "a.py").write_text("a")
    guard = tiers.WriteGuard([shallow], [deep])
    (shallow / "__pycache__").mkdir()  # Python skips its caches on a read-only file system
    (deep / "pkg" / "__pycache__").mkdir()
    assert guard.changed() == []
    (shallow / "new.pth").write_text("x")
    (deep / "pkg" / "a.py").write_text("changed")
    assert guard.changed() == [str(shallow / "new.pth"), str(deep / "pkg" / "a.py")]
    (shallow / "new.pth").unlink()
    assert guard.changed() == [str(shallow / "new.pth")]
    assert guard.changed() == []
