"""The real buildspecs/scan.yml scanning a zip function with its layer, end to end: moto server
holds the function and the layer, the Lambda front completes what moto does not serve (the code
location, GetLayerVersionByArn), the code comes over HTTPS from a test CA the build trusts through
REQUESTS_CA_BUNDLE, and the runner installed from the bundle runs unchanged."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from dispatcher.buildvars import KIND_LAMBDA_ZIP, BuildRequest
from scanner_runner.devtools.codeserve import CodeServer
from scanner_runner.devtools.demo.motoserver import MotoServer
from scanner_runner.devtools.lambdafront import LambdaFront
from scanner_runner.devtools.localbuild.executor import run_build
from scanner_runner.devtools.localbuild.model import EnvVar
from tests.buildspecs.test_scan_buildspec import (
    NAMES,
    TOKEN,
    bare_build,
    report_keys,
    scan_launcher,
)
from tests.lambdazip.zips import function_zip, layer_zip


@pytest.fixture
def front(moto_server: MotoServer, tmp_path: Path) -> Iterator[LambdaFront]:
    with CodeServer(tmp_path) as code, LambdaFront(moto_server.endpoint, code) as lambda_front:
        yield lambda_front


@pytest.mark.parametrize("tier", ["ec2", "lambda"])
def test_a_zip_function_and_its_layer_are_scanned_by_the_buildspec(
    moto_server: MotoServer, front: LambdaFront, tmp_path: Path, tier: str
) -> None:
    env = {"AWS_ENDPOINT_URL_LAMBDA": front.endpoint, "REQUESTS_CA_BUNDLE": front.ca_bundle}
    launcher = scan_launcher(moto_server, tmp_path, scenario="findings", env=env)
    lam = moto_server.client("lambda")
    layer_data, code_data = layer_zip(), function_zip()
    created, layer = front.deploy(
        lam,
        moto_server.client("iam"),
        function={"FunctionName": "orders", "Runtime": "python3.12", "Handler": "app.handler"},
        code=code_data,
        layer={"LayerName": "shared-libs", "CompatibleRuntimes": ["python3.12"]},
        layer_code=layer_data,
    )
    arn = created["FunctionArn"] + ":1"
    request = BuildRequest(
        project=NAMES.project,
        image=None,
        digest=None,
        platform=None,
        source_account="123456789012",
        source_region="us-east-1",
        trigger="lambda:UpdateFunctionCode",
        resource_arn=arn,
        compute_tier=tier,
        kind=KIND_LAMBDA_ZIP,
        code_arn=arn,
        code_sha256=created["CodeSha256"],
    )
    result = launcher.run(request)
    log = result.log_path.read_text()
    exported = result.exported_variables
    assert (exported.get("SCAN_STATUS"), exported.get("SCAN_EXIT_CODE")) == ("failed", "1"), (
        "\n".join(result.log_tail(40))
    )
    assert f"scanning lambda-zip {arn} with qscanner" in log
    hex_digest = hashlib.sha256(code_data).hexdigest()
    keys = report_keys(moto_server)
    prefix = f"reports/123456789012/us-east-1/orders/sha256-{hex_digest}/"
    assert any(k.startswith(prefix) and k.endswith("/report.json") for k in keys), keys
    saved = json.loads(
        moto_server.client("s3")
        .get_object(Bucket=NAMES.bucket, Key=next(k for k in keys if k.endswith("/report.json")))[
            "Body"
        ]
        .read()
    )
    assert saved["lambda"]["layers"] == [layer["LayerVersionArn"]]
    assert {f["package"] for f in saved["findings"]} == {"requests", "urllib3"}
    (report,) = result.reports
    assert report.count("FAILED") > 0
    assert TOKEN not in log


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        (
            "lambda-zip",
            "LAMBDA_ARN is not set: start the build with "
            "--environment-variables-override name=LAMBDA_ARN,value=<function ARN>",
        ),
        (
            "lambda-layer",
            "LAYER_ARN is not set: start the build with "
            "--environment-variables-override name=LAYER_ARN,value=",
        ),
        (
            "rm -rf",
            "TARGET_KIND (image, lambda-zip or lambda-layer) is not set: start the build "
            "with --environment-variables-override name=TARGET_KIND,value=image",
        ),
    ],
)
def test_a_zip_build_without_its_arn_fails_in_pre_build(
    tmp_path: Path, kind: str, words: str
) -> None:
    job = bare_build(
        tmp_path,
        EnvVar("SCANNER", "syft"),
        EnvVar("TARGET_KIND", kind),
        EnvVar("IMAGE_REF", "alpine:3.20"),
    )
    result = run_build(job)
    statuses = {p.phase_type: p.status for p in result.phases}
    assert (result.status, statuses["PRE_BUILD"]) == ("FAILED", "FAILED")
    assert result.phase("BUILD") is None
    assert words in result.log_path.read_text()
