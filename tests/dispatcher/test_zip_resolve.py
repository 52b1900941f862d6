"""Zip code lookups over AWS: GetFunction against moto, cross-account through the read-only
role; GetLayerVersionByArn (which moto lacks) through a Stubber that checks the exact request."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from dispatcher import model as m
from dispatcher.buildvars import KIND_LAMBDA_ZIP
from dispatcher.envelope import read_records
from dispatcher.errors import LookupFailed
from dispatcher.lambdacode import function_code, layer_code
from dispatcher.plan import plan
from dispatcher.resolve_aws import AwsResolver
from tests.dispatcher.conftest import load_event, settings
from tests.dispatcher.test_resolve_aws import (
    MEMBER,
    REGION,
    ROLE,
    TRUST,
    CountingSessions,
    _member_session,
)
from tests.lambdazip.zips import code_sha256, file, make_zip

LAYER = f"arn:aws:lambda:{REGION}:{MEMBER}:layer:shared-libs:4"


@pytest.fixture
def zip_function(aws: None) -> dict[str, Any]:
    """A zip function in the member account, published as version 1."""
    boto3.client("iam", region_name=REGION)
    session = _member_session()
    session.client("iam").create_role(RoleName=ROLE, AssumeRolePolicyDocument=TRUST)
    role = session.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument=TRUST)
    data = make_zip([file("app.py", "def handler(e, c):\n    return 1\n")])
    created = session.client("lambda").create_function(
        FunctionName="billing", Runtime="python3.12", Handler="app.handler",
        Role=role["Role"]["Arn"], Code={"ZipFile": data}, Publish=True,
    )  # fmt: skip
    return {"arn": created["FunctionArn"], "sha": created["CodeSha256"], "data": data}


def test_function_code_cross_account_through_the_role(zip_function: dict[str, Any]) -> None:
    sessions = CountingSessions()
    resolver = AwsResolver(sessions(), ROLE, session_factory=sessions)
    found = resolver.function_code(MEMBER, REGION, zip_function["arn"] + ":1")
    assert found.package_type == "Zip" and found.code is not None
    assert found.code.code_sha256 == zip_function["sha"]
    assert found.code.code_sha256 == code_sha256(zip_function["data"])
    assert found.code.kind == KIND_LAMBDA_ZIP and found.code.runtime == "python3.12"
    assert found.code.arn == zip_function["arn"] + ":1"
    resolver.function_code(MEMBER, REGION, zip_function["arn"] + ":1")  # answered from cache
    assert sessions.calls["lambda:GetFunction"] == 1 and sessions.calls["sts:AssumeRole"] == 1
    assert resolver.code_role_arn(MEMBER, REGION) == f"arn:aws:iam::{MEMBER}:role/{ROLE}"


def test_a_zip_event_without_its_hash_plans_through_getfunction(
    zip_function: dict[str, Any],
) -> None:
    event = load_event("lambda-create-function-zip.json")
    event["detail"]["responseElements"]["functionArn"] = zip_function["arn"]
    sessions = CountingSessions()
    (build,) = plan(
        read_records(event), settings(), AwsResolver(sessions(), ROLE, session_factory=sessions)
    )
    assert isinstance(build, m.Build) and build.request.code_sha256 == zip_function["sha"]
    env = build.request.environment()
    assert env["PULL_ROLE_ARN"] == f"arn:aws:iam::{MEMBER}:role/{ROLE}"


def test_layer_lookup_sends_exactly_getlayerversionbyarn() -> None:
    client = boto3.client("lambda", region_name=REGION)
    sha = code_sha256(b"layer")
    with Stubber(client) as stubber:
        stubber.add_response(
            "get_layer_version_by_arn",
            {"Content": {"Location": "https://example.invalid/x", "CodeSha256": sha, "CodeSize": 5},
             "LayerVersionArn": LAYER, "Version": 4, "CompatibleRuntimes": ["python3.12"]},
            {"Arn": LAYER},
        )  # fmt: skip
        found = layer_code(client, LAYER)
        stubber.add_client_error("get_layer_version_by_arn", "ResourceNotFoundException",
                                 expected_params={"Arn": LAYER})  # fmt: skip
        with pytest.raises(LookupFailed) as info:
            layer_code(client, LAYER)
    assert (found.code_sha256, found.size, found.version) == (sha, 5, "4")
    assert not info.value.retryable


@pytest.mark.parametrize("answer", [{"Configuration": {"PackageType": "Zip", "CodeSha256": "x"}},
                                    {"Configuration": {"PackageType": "Zip"}}])  # fmt: skip
def test_a_function_without_a_valid_hash_is_a_failed_lookup(answer: dict[str, Any]) -> None:
    client = boto3.client("lambda", region_name=REGION)
    arn = f"arn:aws:lambda:{REGION}:{MEMBER}:function:billing"
    with Stubber(client) as stubber:
        stubber.add_response("get_function", answer, {"FunctionName": arn})
        with pytest.raises(LookupFailed, match="CodeSha256"):
            function_code(client, arn)
