"""ASFF of zip code: the function or layer version is the resource, ids follow the code hash."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from scanner_runner.report import ImageInfo, LambdaInfo, ScanReport
from scanner_runner.writers import asff
from tests.runner.conftest import fixed_report
from tests.runner.test_asff import ACCOUNT, REGION, assert_valid
from tests.runner.test_writers import check_golden

FUNCTION = "arn:aws:lambda:eu-west-1:111122223333:function:orders"
LAYER = "arn:aws:lambda:eu-west-1:111122223333:layer:shared-libs:4"
CODE_SHA = "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="
LAYER_SHA = "LCa0a2j/xo/5m0U8HTBBNBNCLXBkg7+g+YpeiGJm564="
CODE_DIGEST = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def zip_report(kind: str = "lambda-zip", arn: str = f"{FUNCTION}:7", **info: Any) -> ScanReport:
    """The fixed report, its target a zip function (or layer) instead of an image."""
    values: dict[str, Any] = {"version": "7", "runtime": "python3.12", "code_sha256": CODE_SHA}
    if kind == "lambda-zip":
        values |= {"layers": (LAYER,), "layer_code_sha256": (LAYER_SHA,)}
    else:
        values |= {"version": "4", "runtime": "python3.11,python3.12", "code_sha256": LAYER_SHA}
    code = LambdaInfo(kind=kind, arn=arn, **(values | info))
    name = arn.split(":")[6]
    image = ImageInfo(ref=arn, repository=name, digest=CODE_DIGEST, os=code.runtime)
    trigger = replace(fixed_report().trigger, source="sweep", resource_arn=arn)
    return fixed_report(image=image, lambda_code=code, trigger=trigger)


def test_a_function_is_an_aws_lambda_function_with_its_code_hash_and_layers() -> None:
    items = asff.findings(zip_report(), ACCOUNT, REGION)
    assert_valid(items)
    for item in items:
        assert item["Resources"] == [
            {
                "Type": "AwsLambdaFunction",
                "Id": f"{FUNCTION}:7",
                "Partition": "aws",
                "Region": "eu-west-1",
                "Details": {
                    "AwsLambdaFunction": {
                        "PackageType": "Zip",
                        "FunctionName": "orders",
                        "CodeSha256": CODE_SHA,
                        "Version": "7",
                        "Runtime": "python3.12",
                        "Layers": [{"Arn": LAYER}],
                    }
                },
            }
        ]
        fields = item["ProductFields"]
        assert fields["deployscan/LambdaArn"] == f"{FUNCTION}:7"
        assert fields["deployscan/CodeSha256"] == CODE_SHA
        assert fields["deployscan/TargetKind"] == "lambda-zip"
        assert "deployscan/Image" not in fields
        assert item["Id"].startswith(f"deployscan/{CODE_DIGEST}/")
        assert f"Function {FUNCTION}:7 (code SHA-256 {CODE_SHA})" in item["Description"]
        assert "orders" in item["Title"]


def test_a_layer_is_an_aws_lambda_layer_version_and_its_hash_is_a_product_field() -> None:
    items = asff.findings(zip_report("lambda-layer", LAYER), ACCOUNT, REGION)
    assert_valid(items)
    (resource,) = items[0]["Resources"]
    assert resource == {
        "Type": "AwsLambdaLayerVersion",
        "Id": LAYER,
        "Partition": "aws",
        "Region": "eu-west-1",
        "Details": {
            "AwsLambdaLayerVersion": {
                "Version": 4,
                "CompatibleRuntimes": ["python3.11", "python3.12"],
            }
        },
    }
    assert items[0]["ProductFields"]["deployscan/CodeSha256"] == LAYER_SHA
    assert "Layer version " + LAYER in items[0]["Description"]


def test_ids_follow_the_code_hash_not_the_function() -> None:
    first = asff.findings(zip_report(), ACCOUNT, REGION)
    other = zip_report(arn="arn:aws:lambda:eu-west-1:111122223333:function:billing:2")
    assert [i["Id"] for i in asff.findings(other, ACCOUNT, REGION)] == [i["Id"] for i in first]
    changed = zip_report()
    changed = replace(changed, image=replace(changed.image, digest="sha256:" + "1" * 64))
    assert not {i["Id"] for i in asff.findings(changed, ACCOUNT, REGION)} & {i["Id"] for i in first}


def test_a_function_without_runtime_or_layers_still_validates() -> None:
    bare = zip_report(runtime="", version="", layers=(), layer_code_sha256=())
    items = asff.findings(bare, ACCOUNT, REGION)
    assert_valid(items)
    details = items[0]["Resources"][0]["Details"]["AwsLambdaFunction"]
    assert set(details) == {"PackageType", "FunctionName", "CodeSha256"}


def test_golden_zip_function_findings() -> None:
    text = asff.render(zip_report())
    assert json.loads(text)
    check_golden("zip-findings.asff.json", text)
