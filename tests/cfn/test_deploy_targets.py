"""The make deploy targets, run for real against a fake `aws` executable that records its calls:
they check variables and the CLI before any AWS call, print their plan, and keep secrets out of
argv. No test here reaches AWS."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.cfn.conftest import ROOT

TOKEN = "qualys-token-never-in-argv"
SHA = "cd" * 32
FAKE_AWS = r"""#!/usr/bin/env python3
import json, os, sys
args = sys.argv[1:]
record = {"argv": args}
if "--cli-input-json" in args:
    path = args[args.index("--cli-input-json") + 1].removeprefix("file://")
    record["input"] = json.load(open(path))
    record["mode"] = oct(os.stat(path).st_mode & 0o777)
with open(os.environ["FAKE_AWS_LOG"], "a") as log:
    log.write(json.dumps(record) + "\n")
op = " ".join(args[:2])
if op == "sts get-caller-identity":
    print(json.dumps({"Account": "123456789012"}))
elif op == "cloudformation describe-stacks":
    sys.stderr.write("An error occurred (ValidationError): Stack with id x does not exist\n")
    sys.exit(255)
elif op == "s3api head-bucket":
    sys.stderr.write("An error occurred (404) when calling the HeadBucket operation: Not Found\n")
    sys.exit(255)
elif op == "cloudformation create-change-set":
    print(json.dumps({"Id": "arn:aws:cloudformation:eu-west-1:123456789012:changeSet/x/1"}))
"""


@pytest.fixture
def fake_aws(tmp_path: Path) -> Path:
    """An `aws` stand-in that logs each call (argv + --cli-input-json content) and answers."""
    exe = tmp_path / "bin" / "aws"
    exe.parent.mkdir()
    exe.write_text(FAKE_AWS)
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return exe


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A minimal source tree with what the packager requires."""
    root = tmp_path / "src"
    for name in (
        "dispatcher/__init__.py",
        "dispatcher/handler.py",
        "scanner_runner/__init__.py",
        "pyproject.toml",
        "README.md",
        "buildspecs/scan.yml",
    ):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(f"# {name}\n")
    return root


def make(
    target: str, tmp_path: Path, **variables: str
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    """Run `make -s TARGET` with only PATH/HOME and the given variables in the environment."""
    log = tmp_path / "aws.log"
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "FAKE_AWS_LOG": str(log)}
    env.update(variables)
    done = subprocess.run(
        ["make", "-s", "--no-print-directory", target],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return done, calls


DEPLOY_VARS = {
    "PRIMARY_REGION": "eu-west-1",
    "QUALYS_POD": "US2",
    "QSCANNER_URL": "https://downloads.example.com/qscanner.gz",
    "QSCANNER_SHA256": SHA,
}


@pytest.mark.parametrize(
    ("target", "variables", "message"),
    [
        ("deploy", {}, "set PRIMARY_REGION"),
        ("deploy", {"PRIMARY_REGION": "eu-west-1"}, "set QUALYS_POD"),
        ("deploy", {**DEPLOY_VARS, "QUALYS_POD": "XX9"}, "QUALYS_POD must be one of"),
        ("deploy", {**DEPLOY_VARS, "QSCANNER_URL": ""}, "set QSCANNER_URL"),
        ("deploy", {**DEPLOY_VARS, "QSCANNER_SHA256": "abc"}, "is not a sha256"),
        ("deploy-hub", DEPLOY_VARS, "set OrganizationId"),
        ("deploy-hub", {**DEPLOY_VARS, "OrganizationId": "org-1"}, "is not an organization id"),
        ("deploy-region", {"PRIMARY_REGION": "eu-west-1"}, "set REGION"),
        (
            "deploy-region",
            {"PRIMARY_REGION": "eu-west-1", "REGION": "eu-west-1"},
            "must not include",
        ),
        ("deploy-region", {"PRIMARY_REGION": "eu-west-1", "REGION": "mars-1"}, "not an AWS region"),
        (
            "deploy-spoke-stackset",
            {"PRIMARY_REGION": "eu-west-1"},
            "set OrganizationId, OrgUnitIds",
        ),
        ("destroy", {"PRIMARY_REGION": "eu-west-1"}, "confirm with CONFIRM=deployscan"),
    ],
)
def test_targets_fail_early_on_missing_or_bad_variables(
    tmp_path: Path, fake_aws: Path, target: str, variables: dict[str, str], message: str
) -> None:
    done, calls = make(target, tmp_path, AWS_CLI=str(fake_aws), **variables)
    assert done.returncode != 0
    assert message in done.stderr
    assert calls == []  # not a single AWS call


@pytest.mark.parametrize("target", ["package", "deploy", "deploy-region", "destroy"])
def test_targets_fail_early_without_the_aws_cli(tmp_path: Path, target: str) -> None:
    variables = {**DEPLOY_VARS, "REGION": "us-west-2", "CONFIRM": "deployscan"}
    done, _ = make(target, tmp_path, AWS_CLI=str(tmp_path / "missing" / "aws"), **variables)
    assert done.returncode != 0
    assert "AWS CLI" in done.stderr and "was not found" in done.stderr


def test_dry_run_prints_the_plan_masks_the_token_and_calls_nothing(
    tmp_path: Path, fake_aws: Path, source: Path
) -> None:
    done, calls = make(
        "deploy",
        tmp_path,
        AWS_CLI=str(fake_aws),
        DRY_RUN="1",
        SOURCE_DIR=str(source),
        QUALYS_API_TOKEN=TOKEN,
        **DEPLOY_VARS,
    )
    assert done.returncode == 0, done.stderr
    assert calls == []
    assert "create stack deployscan in eu-west-1" in done.stderr
    assert '"QualysAccessToken": "****"' in done.stderr
    assert TOKEN not in done.stderr + done.stdout


def test_deploy_runs_package_then_a_change_set_without_the_token_in_argv(
    tmp_path: Path, fake_aws: Path, source: Path
) -> None:
    done, calls = make(
        "deploy",
        tmp_path,
        AWS_CLI=str(fake_aws),
        SOURCE_DIR=str(source),
        QUALYS_API_TOKEN=TOKEN,
        **DEPLOY_VARS,
    )
    assert done.returncode == 0, done.stderr
    ops = [" ".join(c["argv"][:2]) for c in calls]
    assert ops == [
        "sts get-caller-identity",
        "cloudformation describe-stacks",
        "s3api head-bucket",
        "s3api create-bucket",
        "s3api put-public-access-block",
        "s3 cp",
        "s3 cp",
        "cloudformation create-change-set",
        "cloudformation wait",
        "cloudformation execute-change-set",
        "cloudformation wait",
    ]
    assert all(TOKEN not in " ".join(c["argv"]) for c in calls)
    assert TOKEN not in done.stderr + done.stdout
    change_set = calls[7]
    assert change_set["mode"] == "0o600"
    request = change_set["input"]
    assert request["ChangeSetType"] == "CREATE"
    params = {p["ParameterKey"]: p.get("ParameterValue") for p in request["Parameters"]}
    assert params["QualysAccessToken"] == TOKEN
    assert params["ArtifactsBucket"] == "deployscan-artifacts-123456789012-eu-west-1"
    assert params["DispatcherCodeKey"].startswith("deployscan/dispatcher-")
    assert "CAPABILITY_NAMED_IAM" in request["Capabilities"]
    uploads = [c["argv"][-4] for c in calls if c["argv"][:2] == ["s3", "cp"]]
    assert [u.rsplit("/", 1)[1] for u in uploads] == [
        params["DispatcherCodeKey"].rsplit("/", 1)[1],
        params["RunnerBundleKey"].rsplit("/", 1)[1],
    ]
    assert calls[-1]["argv"][2:4] == ["--region", "eu-west-1"]
    assert "stack-create-complete" in calls[-1]["argv"]


def test_spoke_stackset_is_service_managed_and_targets_the_ous(
    tmp_path: Path, fake_aws: Path
) -> None:
    done, calls = make(
        "deploy-spoke-stackset",
        tmp_path,
        AWS_CLI=str(fake_aws),
        PRIMARY_REGION="us-east-1",
        OrganizationId="o-abcdefghij",
        OrgUnitIds="ou-ab12-cdefgh34,ou-ab12-ijklmn56",
        SecurityAccountId="111111111111",
        CentralEventBusArn="arn:aws:events:us-east-1:111111111111:event-bus/deployscan-central",
        SPOKE_REGIONS="us-east-1,eu-west-1",
    )
    assert done.returncode == 0, done.stderr
    create, instances = calls[-2:]
    assert create["argv"][:2] == ["cloudformation", "create-stack-set"]
    assert create["input"]["PermissionModel"] == "SERVICE_MANAGED"
    assert create["input"]["AutoDeployment"]["Enabled"] is True
    params = {p["ParameterKey"]: p["ParameterValue"] for p in create["input"]["Parameters"]}
    assert params["SecurityAccountId"] == "111111111111"
    assert params["PrimaryRegion"] == "us-east-1"
    assert instances["input"]["DeploymentTargets"]["OrganizationalUnitIds"] == [
        "ou-ab12-cdefgh34",
        "ou-ab12-ijklmn56",
    ]
    assert instances["input"]["Regions"] == ["us-east-1", "eu-west-1"]


def test_make_n_shows_the_command_each_target_runs() -> None:
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", "deploy-region"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert "scripts/deploy.py deploy-region" in done.stdout
