"""The gate for zip code: the CodeDeploy hook checks a zip version (its CodeSha256 and its
layers' from GetLayerVersionByArn, which moto lacks: a Stubber asserts each exact request) by
code hash, and starts a missing scan as a lambda-zip build through the normal path; the
CloudFormation hook hashes S3 code (moto S3) from the allowed buckets only, passes inline code
with a note and checks the layers."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from dispatcher.buildvars import KIND_LAMBDA_LAYER, KIND_LAMBDA_ZIP
from dispatcher.gate import cfn_hook, codedeploy_hook
from dispatcher.gate.s3code import MAX_CODE_BYTES
from dispatcher.scancache import ScanCacheTable, Verdict, code_key
from tests.dispatcher.conftest import REGION, TABLE, RecordingLauncher
from tests.dispatcher.gatekit import ENFORCE, NOW, REPORT, payload, runtime
from tests.dispatcher.test_gate_cli import run as cli_run
from tests.dispatcher.test_gate_codedeploy_hook import FUNCTION, codedeploy
from tests.dispatcher.zipkit import LayersStubbed, layer_answer
from tests.lambdazip.zips import code_sha256, file, make_zip


@pytest.fixture
def version(aws: None) -> dict[str, Any]:
    """A zip function published as version 1 using one layer version (all in moto)."""
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="renderer", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = boto3.client("lambda", region_name=REGION)
    fonts, code = make_zip([file("handler.py", "f")]), make_zip([file("handler.py", "code")])
    layer = lam.publish_layer_version(LayerName="fonts", Content={"ZipFile": fonts})
    made = lam.create_function(FunctionName=FUNCTION, Role=role, Runtime="python3.12",
                               Handler="handler.main", Code={"ZipFile": code},
                               Layers=[layer["LayerVersionArn"]], Publish=True)  # fmt: skip
    base = ":".join(made["FunctionArn"].split(":")[:7])
    return {"arn": f"{base}:1", "sha": made["CodeSha256"], "layer": layer["LayerVersionArn"],
            "layer_sha": layer["Content"]["CodeSha256"]}  # fmt: skip


def scanned(dynamodb: Any, sha: str, status: str, **counts: int) -> None:
    verdict = Verdict(status, "code", "deployscan-scan:b-1", REPORT, counts)
    ScanCacheTable(dynamodb, TABLE).record(code_key(sha), verdict, now=NOW - 60, keep_seconds=3600)


def hook(dynamodb: Any, status: str, layers: Stubber) -> dict[str, Any]:
    client, stub = codedeploy(status)
    lam = LayersStubbed(boto3.client("lambda", region_name=REGION), layers.client)
    run = runtime(dynamodb, clients={"codedeploy": client, "lambda": lam})
    response = codedeploy_hook.answer(payload("gate-codedeploy-hook.json"), run, deadline=NOW + 900)
    stub.assert_no_pending_responses()
    return response


def test_a_zip_version_whose_code_and_layer_passed_succeeds(
    dynamodb: Any, version: dict[str, Any], layers: Stubber
) -> None:
    scanned(dynamodb, version["sha"], "passed")
    scanned(dynamodb, version["layer_sha"], "passed")
    layer_answer(layers, version["layer"], version["layer_sha"])
    response = hook(dynamodb, "Succeeded", layers)
    assert response["status"] == "Succeeded"
    assert f"{version['arn']} (code {version['sha']}): ALLOW" in response["message"]
    assert f"{version['layer']} (code {version['layer_sha']}): ALLOW" in response["message"]


def test_a_layer_that_failed_its_scan_fails_the_deployment(
    dynamodb: Any, version: dict[str, Any], layers: Stubber
) -> None:
    scanned(dynamodb, version["sha"], "passed")
    scanned(dynamodb, version["layer_sha"], "failed", high=2)
    layer_answer(layers, version["layer"], version["layer_sha"])
    response = hook(dynamodb, "Failed", layers)
    assert f"{version['layer']} (code {version['layer_sha']}): DENY" in response["message"]
    assert "high 2" in response["message"]


def test_a_zip_version_never_scanned_starts_its_scan_on_the_code_hash(
    dynamodb: Any, version: dict[str, Any], layers: Stubber
) -> None:
    scanned(dynamodb, version["layer_sha"], "passed")
    layer_answer(layers, version["layer"], version["layer_sha"])
    launcher = RecordingLauncher()
    client, stub = codedeploy("Failed")  # no time left to wait: GATE_ON_TIMEOUT=deny
    lam = LayersStubbed(boto3.client("lambda", region_name=REGION), layers.client)
    run = runtime(dynamodb, clients={"codedeploy": client, "lambda": lam}, launcher=launcher)
    response = codedeploy_hook.answer(payload("gate-codedeploy-hook.json"), run, deadline=NOW + 25)
    stub.assert_no_pending_responses()
    (request,) = launcher.requests
    assert (request.kind, request.code_arn, request.code_sha256) == (
        KIND_LAMBDA_ZIP, version["arn"], version["sha"]
    )  # fmt: skip
    assert request.trigger == "gate:codedeploy-hook" and request.image is None
    assert "scan started" in response["message"]
    items = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": code_key(version["sha"])}})
    assert items["Item"]["status"]["S"] == "in-flight"


def test_a_layer_that_cannot_be_read_is_answered_per_gate_on_error(
    dynamodb: Any, version: dict[str, Any], layers: Stubber
) -> None:
    scanned(dynamodb, version["sha"], "passed")
    layers.add_client_error("get_layer_version_by_arn", "AccessDeniedException",
                            expected_params={"Arn": version["layer"]})  # fmt: skip
    response = hook(dynamodb, "Failed", layers)
    assert "cannot read the layer" in response["message"]
    assert "GATE_ON_ERROR=deny" in response["message"]


def test_a_layer_never_scanned_starts_a_layer_build(
    dynamodb: Any, version: dict[str, Any], layers: Stubber
) -> None:
    layer_answer(layers, version["layer"], version["layer_sha"])
    launcher = RecordingLauncher()
    client, stub = codedeploy("Failed")
    lam = LayersStubbed(boto3.client("lambda", region_name=REGION), layers.client)
    run = runtime(dynamodb, clients={"codedeploy": client, "lambda": lam}, launcher=launcher)
    codedeploy_hook.answer(payload("gate-codedeploy-hook.json"), run, deadline=NOW + 25)
    stub.assert_no_pending_responses()
    started = {(r.kind, r.code_arn, r.code_sha256) for r in launcher.requests}
    assert started == {(KIND_LAMBDA_ZIP, version["arn"], version["sha"]),
                       (KIND_LAMBDA_LAYER, version["layer"], version["layer_sha"])}  # fmt: skip


# The CloudFormation hook: a zip AWS::Lambda::Function before it exists.
CODE_BUCKET = "team-lambda-code"


def cfn_event(code: dict[str, Any], layers: list[str] | None = None) -> Any:
    event = payload("gate-cfn-hook-function.json")
    properties: dict[str, Any] = {"Runtime": "python3.12", "Handler": "h.main", "Code": code}
    if layers is not None:
        properties["Layers"] = layers
    event["requestData"]["targetModel"]["resourceProperties"] = properties
    return event


def code_object(data: bytes) -> tuple[str, str]:
    """The zip in a versioned moto bucket: its version id and the CodeSha256 Lambda computes."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=CODE_BUCKET,
                     CreateBucketConfiguration={"LocationConstraint": REGION})  # fmt: skip
    s3.put_bucket_versioning(Bucket=CODE_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    version = s3.put_object(Bucket=CODE_BUCKET, Key="orders/v7.zip", Body=data)["VersionId"]
    return version, code_sha256(data)


def cfn_runtime(dynamodb: Any, **kwargs: Any) -> Any:
    gate = replace(ENFORCE, code_buckets=(CODE_BUCKET,))
    return runtime(dynamodb, kwargs.pop("gate", gate), **kwargs)


def test_cfn_s3_code_is_hashed_as_lambda_does_and_its_scan_decides(
    aws: None, dynamodb: Any
) -> None:
    data = make_zip([file("handler.py", "handler")])
    version, sha = code_object(data)
    later = make_zip([file("handler.py", "a later upload")])
    boto3.client("s3", region_name=REGION).put_object(Bucket=CODE_BUCKET, Key="orders/v7.zip",
                                                      Body=later)  # fmt: skip
    scanned(dynamodb, sha, "failed", critical=1)
    code = {"S3Bucket": CODE_BUCKET, "S3Key": "orders/v7.zip", "S3ObjectVersion": version}
    response = cfn_hook.answer(cfn_event(code), cfn_runtime(dynamodb))
    assert response["hookStatus"] == "FAILED"  # the version asked for, not the latest upload
    assert (
        f"s3://{CODE_BUCKET}/orders/v7.zip?versionId={version} (code {sha}): DENY"
        in (response["message"])
    )
    scanned(dynamodb, sha, "passed")
    assert cfn_hook.answer(cfn_event(code), cfn_runtime(dynamodb))["hookStatus"] == "SUCCESS"


def test_cfn_s3_code_never_scanned_is_answered_at_once_and_starts_nothing(
    aws: None, dynamodb: Any
) -> None:
    _, sha = code_object(make_zip([file("handler.py", "new code")]))
    launcher = RecordingLauncher()
    code = {"S3Bucket": CODE_BUCKET, "S3Key": "orders/v7.zip"}
    response = cfn_hook.answer(cfn_event(code), cfn_runtime(dynamodb, launcher=launcher))
    assert response["hookStatus"] == "FAILED"  # GATE_ON_TIMEOUT=deny, without waiting
    assert "nothing can scan it before the deploy" in response["message"]
    assert "GATE_ON_TIMEOUT=deny" in response["message"] and sha in response["message"]
    assert launcher.requests == []
    lenient = replace(ENFORCE, code_buckets=(CODE_BUCKET,), on_timeout="allow")
    allowed = cfn_hook.answer(cfn_event(code), cfn_runtime(dynamodb, gate=lenient))
    assert allowed["hookStatus"] == "SUCCESS"


def test_cfn_a_bucket_not_listed_is_never_read(dynamodb: Any) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    with Stubber(s3) as stub:  # no S3 request may be made
        code = {"S3Bucket": "someone-elses", "S3Key": "x.zip"}
        response = cfn_hook.answer(cfn_event(code), cfn_runtime(dynamodb, clients={"s3": s3}))
        stub.assert_no_pending_responses()
    assert response["hookStatus"] == "FAILED"
    assert "not in GATE_CODE_BUCKETS" in response["message"]


def test_cfn_an_object_larger_than_lambda_accepts_is_an_error(dynamodb: Any) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    with Stubber(s3) as stub:
        body = StreamingBody(io.BytesIO(b"PK"), 2)
        stub.add_response("get_object", {"Body": body, "ContentLength": MAX_CODE_BYTES + 1},
                          {"Bucket": CODE_BUCKET, "Key": "big.zip", "VersionId": "v1"})  # fmt: skip
        code = {"S3Bucket": CODE_BUCKET, "S3Key": "big.zip", "S3ObjectVersion": "v1"}
        response = cfn_hook.answer(cfn_event(code), cfn_runtime(dynamodb, clients={"s3": s3}))
        stub.assert_no_pending_responses()
    assert response["hookStatus"] == "FAILED"
    assert f"over Lambda's {MAX_CODE_BYTES}" in response["message"]
    assert "GATE_ON_ERROR=deny" in response["message"]


def test_cfn_inline_code_passes_with_a_note_and_its_layers_are_checked(
    dynamodb: Any, layers: Stubber
) -> None:
    layer = "arn:aws:lambda:eu-central-1:999988887777:layer:shared-fonts:4"
    layer_sha = code_sha256(b"fonts")
    layer_answer(layers, layer, layer_sha)
    launcher = RecordingLauncher()
    run = cfn_runtime(dynamodb, clients={"lambda": layers.client}, launcher=launcher)
    event = cfn_event({"ZipFile": "def main(e, c):\n    return 1\n"}, [layer])
    response = cfn_hook.answer(event, run)
    assert "Code.ZipFile: ALLOW - inline Code.ZipFile source" in response["message"]
    (request,) = launcher.requests  # the layer exists: its scan starts, and the hook waits
    assert (request.kind, request.code_arn, request.code_sha256) == (
        KIND_LAMBDA_LAYER, layer, layer_sha
    )  # fmt: skip
    assert request.pull_role_arn == "arn:aws:iam::999988887777:role/deployscan-read"
    assert response["hookStatus"] == "IN_PROGRESS"


# `deployscan verdict --lambda ARN[:QUALIFIER]`: the same answer from the CLI.
def plain_function(name: str, text: str) -> dict[str, Any]:
    """A zip function without layers, published as version 1 (moto)."""
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = boto3.client("lambda", region_name=REGION)
    code = make_zip([file("handler.py", text)])
    return dict(lam.create_function(FunctionName=name, Role=role, Runtime="python3.12",
                                    Handler="h.main", Code={"ZipFile": code},
                                    Publish=True))  # fmt: skip


def test_the_verdict_cli_checks_a_zip_function_by_code_hash(aws: None, dynamodb: Any) -> None:
    made = plain_function("reports", "v1")
    base = ":".join(made["FunctionArn"].split(":")[:7])
    scanned(dynamodb, made["CodeSha256"], "failed", high=3)
    result = cli_run("--lambda", f"{base}:1", "--json")
    assert result.exit_code == 1, result.output
    line = json.loads(result.output)
    assert line["image"] == f"{base}:1 (code {made['CodeSha256']})" and line["verdict"] == "deny"
    scanned(dynamodb, made["CodeSha256"], "passed")
    assert cli_run("--lambda", base).exit_code == 0


def test_the_verdict_cli_refuses_a_bad_lambda_argument(aws: None, dynamodb: Any) -> None:
    assert cli_run().exit_code == 2  # neither an image nor --lambda
    assert cli_run("--lambda", "arn:aws:s3:::bucket").exit_code == 2
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="img", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    image = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/jobs/report:7"
    boto3.client("lambda", region_name=REGION).create_function(
        FunctionName="img", Role=role, PackageType="Image", Code={"ImageUri": image}
    )
    result = cli_run("--lambda", f"arn:aws:lambda:{REGION}:123456789012:function:img")
    assert result.exit_code == 2 and "Image function: name its image" in result.output
    missing = cli_run("--lambda", f"arn:aws:lambda:{REGION}:123456789012:function:gone")
    assert missing.exit_code == 3 and "ResourceNotFoundException" in missing.output
