"""The two compute tiers in cfn/scanner.yaml: a Lambda-compute project beside the EC2 one where
the region offers it, sharing everything that need not differ, and the dispatcher told both."""

from __future__ import annotations

from typing import Any

import pytest

from dispatcher.buildvars import COMPUTE_TIER, COMPUTE_TIERS
from dispatcher.settings import Settings as DispatcherSettings
from dispatcher.tiers import DEFAULT_LAMBDA_MAX_IMAGE_MIB, LAMBDA_COMPUTE_REGIONS
from tests.cfn.conftest import ROOT
from tests.cfn.intrinsics import Stack
from tests.cfn.test_parameter_values import _defaults_for_required

# Set by Lambda compute itself or impossible there: the Lambda project must not set them
# (https://docs.aws.amazon.com/codebuild/latest/userguide/lambda.html#lambda.limitations).
NOT_ON_LAMBDA = ("Cache", "TimeoutInMinutes", "QueuedTimeoutInMinutes", "VpcConfig", "BadgeEnabled")


def projects(scanner: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    res = scanner["Resources"]
    return res["ScanProject"], res["LambdaScanProject"]


def _variables(project: dict[str, Any]) -> list[dict[str, Any]]:
    return list(project["Properties"]["Environment"]["EnvironmentVariables"])


def test_the_region_condition_lists_the_documented_regions(scanner: dict[str, Any]) -> None:
    regions = {
        equals["Fn::Equals"][1]
        for equals in scanner["Conditions"]["RegionHasLambdaCompute"]["Fn::Or"]
        if equals["Fn::Equals"][0] == {"Ref": "AWS::Region"}
    }
    assert regions == LAMBDA_COMPUTE_REGIONS


def test_the_lambda_project_sets_nothing_lambda_compute_refuses(scanner: dict[str, Any]) -> None:
    ec2, lam = projects(scanner)
    assert lam["Condition"] == "UseLambdaTier"
    props = lam["Properties"]
    assert [key for key in NOT_ON_LAMBDA if key in props] == []
    env = props["Environment"]
    assert "PrivilegedMode" not in env
    assert env["Type"] == {
        "Fn::If": ["IsLambdaArm", "ARM_LAMBDA_CONTAINER", "LINUX_LAMBDA_CONTAINER"]
    }
    assert env["ComputeType"] == {"Ref": "LambdaComputeType"}
    assert all(
        v.startswith("BUILD_LAMBDA_")
        for v in scanner["Parameters"]["LambdaComputeType"]["AllowedValues"]
    )
    _, arm, x86 = env["Image"]["Fn::If"]
    assert arm.startswith("aws/codebuild/amazonlinux-aarch64-lambda-standard:python3.11")
    assert x86.startswith("aws/codebuild/amazonlinux-x86_64-lambda-standard:python3.11")
    assert scanner["Parameters"]["LambdaArchitecture"]["Default"] == "arm64"
    # what need not differ does not: source, buildspec, role, logs, concurrency
    for key in ("Source", "ServiceRole", "Artifacts", "LogsConfig", "ConcurrentBuildLimit"):
        assert props[key] == ec2["Properties"][key], key
    assert ec2["Properties"]["TimeoutInMinutes"] == {"Ref": "BuildTimeoutMinutes"}


def test_both_projects_pass_the_same_variables_but_their_tier(scanner: dict[str, Any]) -> None:
    ec2, lam = (_variables(p) for p in projects(scanner))
    tier = COMPUTE_TIER.name
    assert [v for v in ec2 if v["Name"] == tier] == [
        {"Name": tier, "Type": "PLAINTEXT", "Value": "ec2"}
    ]
    assert [v for v in lam if v["Name"] == tier] == [
        {"Name": tier, "Type": "PLAINTEXT", "Value": "lambda"}
    ]
    assert [v for v in ec2 if v["Name"] != tier] == [v for v in lam if v["Name"] != tier]


def test_each_project_files_its_reports_in_its_report_group(scanner: dict[str, Any]) -> None:
    res = scanner["Resources"]
    for project, group in (("ScanProject", "FindingsReportGroup"),
                           ("LambdaScanProject", "LambdaFindingsReportGroup")):  # fmt: skip
        name = res[project]["Properties"]["Name"]["Fn::Sub"]
        assert res[group]["Properties"]["Name"] == {"Fn::Sub": f"{name}-findings"}
        assert (
            res[group]["Properties"]["ExportConfig"]
            == res["FindingsReportGroup"]["Properties"]["ExportConfig"]
        )
    assert res["LambdaFindingsReportGroup"]["Condition"] == "UseLambdaTier"


@pytest.mark.parametrize(
    ("values", "lambda_project"),
    [
        ({}, "deployscan-scan-lambda"),
        ({"AWS::Region": "ap-southeast-2"}, "deployscan-scan-lambda"),
        ({"AWS::Region": "eu-north-1"}, ""),  # no Lambda compute there: EC2 only
        ({"ComputeTier": "ec2"}, ""),
    ],
)
def test_the_dispatcher_is_told_both_projects_and_the_rules(
    scanner: dict[str, Any], values: dict[str, str], lambda_project: str
) -> None:
    stack = Stack(scanner, {**_defaults_for_required(scanner), **values})
    env = {
        k: stack.render(v)
        for k, v in scanner["Resources"]["Dispatcher"]["Properties"]["Environment"][
            "Variables"
        ].items()
    }
    assert stack.condition("UseLambdaTier") is bool(lambda_project)
    assert env["SCAN_PROJECT_NAME"] == "deployscan-scan"
    assert env["LAMBDA_PROJECT_NAME"] == lambda_project
    settings = DispatcherSettings.from_env({**env, "AWS_REGION": stack.ref("AWS::Region")})
    tiers = settings.tiers
    assert tiers.max_lambda_bytes == DEFAULT_LAMBDA_MAX_IMAGE_MIB * 1024 * 1024
    assert tiers.default == values.get("ComputeTier", "lambda")


def test_tier_parameters_match_the_code(scanner: dict[str, Any]) -> None:
    params = scanner["Parameters"]
    assert tuple(params["ComputeTier"]["AllowedValues"]) == COMPUTE_TIERS
    assert params["ComputeTier"]["Default"] == "lambda"
    assert int(params["LambdaMaxImageMiB"]["Default"]) == DEFAULT_LAMBDA_MAX_IMAGE_MIB
    assert (
        f"| `LambdaMaxImageMiB` | {DEFAULT_LAMBDA_MAX_IMAGE_MIB} |"
        in (ROOT / "docs" / "deploy.md").read_text()
    )


def test_the_dispatcher_may_start_builds_of_both_projects(scanner: dict[str, Any]) -> None:
    statements = scanner["Resources"]["DispatcherRole"]["Properties"]["Policies"][0][
        "PolicyDocument"
    ]["Statement"]
    (launch,) = [s for s in statements if s["Action"] == "codebuild:StartBuild"]
    assert launch["Resource"] == [
        {"Fn::GetAtt": ["ScanProject", "Arn"]},
        {
            "Fn::If": [
                "UseLambdaTier",
                {"Fn::GetAtt": ["LambdaScanProject", "Arn"]},
                {"Ref": "AWS::NoValue"},
            ]
        },
    ]


def test_a_vpc_build_is_the_ec2_project_only(scanner: dict[str, Any]) -> None:
    ec2, lam = projects(scanner)
    assert ec2["Properties"]["VpcConfig"]["Fn::If"][0] == "HasBuildVpc"
    assert "VpcConfig" not in lam["Properties"]
    assert scanner["Rules"]["BuildVpcComplete"]["RuleCondition"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "BuildVpcId"}, ""]}]
    }
