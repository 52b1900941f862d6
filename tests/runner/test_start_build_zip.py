"""`deployscan start-build --lambda/--layer`: the exact StartBuild request for zip code."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from click.testing import CliRunner

from dispatcher.buildvars import KIND_LAMBDA_LAYER, KIND_LAMBDA_ZIP
from dispatcher.errors import BuildRequestError
from dispatcher.launch import CodeBuildLauncher
from dispatcher.resolve_aws import AwsResolver
from scanner_runner.cli import main
from scanner_runner.startbuild import plan_code_build, start
from tests.dispatcher.conftest import create_project
from tests.lambdazip.zips import file, make_zip
from tests.runner.test_start_build import ACCOUNT, PROJECT

TRUST = '{"Version": "2012-10-17", "Statement": []}'


def create_zip_function() -> dict[str, str]:
    code = make_zip([file("app.py", "def handler(e, c):\n    return 1\n")])
    role = boto3.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument=TRUST)
    created = boto3.client("lambda").create_function(
        FunctionName="orders",
        Runtime="python3.12",
        Handler="app.handler",
        Role=role["Role"]["Arn"],
        Code={"ZipFile": code},
        Publish=True,
    )
    return {"arn": created["FunctionArn"], "sha": created["CodeSha256"]}


def test_start_build_lambda_sends_kind_arn_and_code_hash(aws: None) -> None:
    function = create_zip_function()
    arn = function["arn"] + ":1"
    plan = plan_code_build(
        KIND_LAMBDA_ZIP, arn, project=PROJECT, resolver=AwsResolver(boto3.session.Session(), None)
    )
    codebuild = boto3.client("codebuild")
    expected = {
        "projectName": PROJECT,
        "environmentVariablesOverride": [
            {"name": "TARGET_KIND", "value": KIND_LAMBDA_ZIP, "type": "PLAINTEXT"},
            {"name": "LAMBDA_ARN", "value": arn, "type": "PLAINTEXT"},
            {"name": "CODE_SHA256", "value": function["sha"], "type": "PLAINTEXT"},
            {"name": "SOURCE_ACCOUNT", "value": ACCOUNT, "type": "PLAINTEXT"},
            {"name": "SOURCE_REGION", "value": "us-east-1", "type": "PLAINTEXT"},
            {"name": "TRIGGER", "value": "manual", "type": "PLAINTEXT"},
            {"name": "RESOURCE_ARN", "value": arn, "type": "PLAINTEXT"},
            {"name": "COMPUTE_TIER", "value": "ec2", "type": "PLAINTEXT"},
        ],
        "idempotencyToken": plan.request.idempotency_token(),
    }
    with Stubber(codebuild) as stub:
        stub.add_response("start_build", {"build": {"id": f"{PROJECT}:z-1"}}, expected)
        assert start(plan, CodeBuildLauncher(codebuild)) == f"{PROJECT}:z-1"
        stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("kind", "arn"),
    [
        (KIND_LAMBDA_ZIP, "arn:aws:lambda:us-east-1:123456789012:function:x;reboot"),
        (KIND_LAMBDA_LAYER, "arn:aws:lambda:us-east-1:123456789012:layer:x"),
    ],
)
def test_a_bad_arn_is_refused_before_any_call(kind: str, arn: str) -> None:
    with pytest.raises(BuildRequestError):
        plan_code_build(
            kind, arn, project=PROJECT, resolver=AwsResolver(boto3.session.Session(), None)
        )


def test_cli_start_build_lambda_against_moto(aws: None) -> None:
    function = create_zip_function()
    create_project(boto3.client("codebuild"), PROJECT)
    result = CliRunner().invoke(main, ["start-build", "--lambda", function["arn"]])
    assert result.exit_code == 0, result.output
    assert f"started {PROJECT}:" in result.output and function["sha"] in result.output
    both = CliRunner().invoke(main, ["start-build", "alpine:3.20", "--lambda", function["arn"]])
    assert both.exit_code == 2 and "give one of" in both.output
