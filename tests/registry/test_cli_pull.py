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
from scanner_runner.devtools import imagebuild
from scanner_runner.devtools.localregistry import LocalRegistry
from tests.registry.conftest import Pushed


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
    assert bad_ref.stderr == (
        "deployscan pull: image reference contains whitespace: 'UPPER/Case;rm -rf'\n"
    )


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


def _auth_image(auth_registry: LocalRegistry) -> str:
    img = imagebuild.image([imagebuild.layer({"etc/hello": b"creds"})])
    imagebuild.Pusher(auth_registry.url, auth=auth_registry.auth).push_image("priv/x", img, "1")
    return f"{auth_registry.host}/priv/x:1"


def test_creds_from_environment_or_stdin_stay_out_of_argv(
    auth_registry: LocalRegistry, tmp_path: Path
) -> None:
    ref = _auth_image(auth_registry)
    creds = f"{auth_registry.username}:{auth_registry.password}"
    base = ["pull", ref, "-o", str(tmp_path / "a.tar"), "--insecure-registry", auth_registry.host]
    from_env = CliRunner().invoke(main, base, env={"REGISTRY_CREDS": creds, "CI": "1"})
    assert from_env.exit_code == 0, from_env.output
    assert from_env.stderr == ""  # no argv warning: the secret is not on the command line
    from_stdin = CliRunner().invoke(main, [*base, "--creds", "-"], input=creds + "\n")
    assert from_stdin.exit_code == 0, from_stdin.output
    assert from_stdin.stderr == ""
    on_argv = CliRunner().invoke(main, [*base, "--creds", creds])
    assert on_argv.exit_code == 0, on_argv.output
    assert "warning: --creds USER:PASS is visible" in on_argv.stderr
    assert auth_registry.password is not None
    assert auth_registry.password not in on_argv.output
    no_creds = CliRunner().invoke(
        main, base, env={"REGISTRY_CREDS": "", "DOCKER_CONFIG": str(tmp_path)}
    )
    assert no_creds.exit_code == 3
    assert "requires credentials" in no_creds.stderr


def test_wrong_or_missing_creds_never_echo_the_secret(
    auth_registry: LocalRegistry, tmp_path: Path
) -> None:
    ref = _auth_image(auth_registry)
    out = tmp_path / "a.tar"
    base = ["pull", ref, "-o", str(out), "--insecure-registry", auth_registry.host]
    sentinel = "s3ntinel-Pa55word"
    wrong = CliRunner().invoke(main, base, env={"REGISTRY_CREDS": f"AWS:{sentinel}"})
    assert wrong.exit_code == 3
    assert wrong.stderr.count("\n") == 1
    assert sentinel not in wrong.output
    malformed = CliRunner().invoke(main, base, env={"REGISTRY_CREDS": sentinel})
    assert malformed.exit_code == 3
    assert malformed.stderr == "deployscan pull: --creds must be USER:PASS\n"
    empty_stdin = CliRunner().invoke(main, [*base, "--creds", "-"], input="")
    assert empty_stdin.exit_code == 3
    assert "read nothing" in empty_stdin.stderr
    assert not out.exists()
