"""`deployscan pull` at the edge: options, environment, JSON, exit codes."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from scanner_runner.cli import main
from scanner_runner.cli.pull import ByteSize
from tests.puller.conftest import Pushed


def test_json_output_and_insecure_flag(pushed: Pushed, tmp_path: Path) -> None:
    out = tmp_path / "x.tar"
    result = CliRunner().invoke(
        main,
        [
            "pull",
            pushed.ref("team/multi:1.0"),
            "-o",
            str(out),
            "--json",
            "--insecure-registry",
            pushed.host,
            "--platform",
            "linux/arm64",
        ],
        env={"CI": "true"},
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["manifest_digest"] == pushed.multi.images[1].digest
    assert data["digest"] == pushed.multi_digest
    assert data["platform"] == "linux/arm64/v8"
    assert data["format"] == "oci-archive"
    assert data["archive"] == str(out)
    assert out.is_file()


def test_environment_supplies_insecure_hosts_and_platform(pushed: Pushed, tmp_path: Path) -> None:
    out = tmp_path / "x.tar"
    result = CliRunner().invoke(
        main,
        ["pull", pushed.ref("team/multi:1.0"), "-o", str(out), "--format", "docker-archive"],
        env={
            "INSECURE_REGISTRIES": f"other.example, {pushed.host}",
            "IMAGE_PLATFORM": "linux/arm/v7",
        },
    )
    assert result.exit_code == 0, result.output
    assert "(linux/arm/v7, 3 layers" in result.stdout
    assert pushed.multi.images[2].digest in result.stdout


def test_failure_is_exit_3_with_one_line(pushed: Pushed, tmp_path: Path) -> None:
    out = tmp_path / "x.tar"
    result = CliRunner().invoke(
        main,
        [
            "pull",
            pushed.ref("team/multi:1.0"),
            "-o",
            str(out),
            "--platform",
            "plan9/mips",
            "--insecure-registry",
            pushed.host,
        ],
    )
    assert result.exit_code == 3
    assert result.stderr.startswith("deployscan pull: no plan9/mips image in the index")
    assert result.stderr.count("\n") == 1
    assert not out.exists()
    bad_ref = CliRunner().invoke(main, ["pull", "UPPER/Case;rm -rf", "-o", str(out)])
    assert bad_ref.exit_code == 3
    assert "invalid" in bad_ref.stderr or "control" in bad_ref.stderr


def test_progress_bar_only_on_a_terminal(pushed: Pushed, tmp_path: Path) -> None:
    command = [
        str(Path(sys.executable).with_name("deployscan")),
        "pull",
        pushed.ref("team/single:latest"),
        "-o",
        str(tmp_path / "a.tar"),
        "--insecure-registry",
        pushed.host,
    ]
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "CODEBUILD_BUILD_ID")}
    piped = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    assert piped.stderr == ""  # not a terminal: quiet

    leader, follower = pty.openpty()
    try:
        subprocess.run(command, stderr=follower, stdout=subprocess.DEVNULL, check=True, env=env)
        drawn = os.read(leader, 65536).decode()
    finally:
        os.close(leader)
        os.close(follower)
    assert "100%" in drawn and "team/single" in drawn
    in_ci = subprocess.run(
        command, capture_output=True, text=True, check=True, env={**env, "CI": "1"}
    )
    assert in_ci.stderr == ""


@pytest.mark.parametrize(
    ("text", "size"), [("1024", 1024), ("500M", 500 * 1024**2), ("2GiB", 2 * 1024**3), ("3k", 3072)]
)
def test_byte_sizes(text: str, size: int) -> None:
    assert ByteSize().convert(text, None, None) == size


def test_bad_max_size_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["pull", "x/y:1", "-o", str(tmp_path / "a"), "--max-size", "lots"]
    )
    assert result.exit_code == 2
