"""Every AWS action the code calls is granted to the role that calls it, and nothing more.

The called actions are derived from the source (tests/cfn/awscalls.py: import closure of each
entry point, boto3 method names mapped by botocore). What AWS itself does with a role on the
code's behalf (event source mapping, build logs, source download, report upload, ...) is the
PLATFORM table below, each with its reason.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.cfn.awscalls import Calls, calls_in, closure, operations
from tests.cfn.conftest import policy_statements, walk

# Attribute names of ours that coincide with a boto3 method of a service the closure uses.
NOT_AWS = {
    "scan": "the runner's scan step (scanner.scan, scanner_runner.scan), not dynamodb:Scan",
}
# Calls IAM never refuses.
NO_PERMISSION = {"sts:GetCallerIdentity"}
# The registry HTTP API on ECR (manifests, layer redirects) is authorised by these actions.
ECR_REGISTRY_API = {"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}
VPC_BUILD = {
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
}
PLATFORM: dict[str, dict[str, str]] = {
    "DispatcherRole": {
        "sqs:ReceiveMessage": "the Lambda event source mapping polls the queue as the function",
        "sqs:DeleteMessage": "the event source mapping deletes handled messages",
        "sqs:GetQueueAttributes": "the event source mapping reads the queue's settings",
        "logs:CreateLogStream": "the Lambda runtime writes the function's log",
        "logs:PutLogEvents": "the Lambda runtime writes the function's log",
    },
    "ScanBuildRole": {
        "logs:CreateLogStream": "CodeBuild writes the build log",
        "logs:PutLogEvents": "CodeBuild writes the build log",
        "s3:GetObject": "CodeBuild fetches the source bundle; fetch-qscanner.sh an s3:// QScanner",
        "s3:GetObjectVersion": "CodeBuild downloads a versioned S3 source",
        "s3:PutObject": "the report group exports raw report files to the report bucket",
        "secretsmanager:GetSecretValue": "CodeBuild resolves the SECRETS_MANAGER project variable",
        "codebuild:CreateReportGroup": "CodeBuild files the buildspec's reports",
        "codebuild:CreateReport": "CodeBuild files the buildspec's reports",
        "codebuild:UpdateReport": "CodeBuild files the buildspec's reports",
        "codebuild:BatchPutTestCases": "CodeBuild files the buildspec's reports",
        **dict.fromkeys(ECR_REGISTRY_API, "the puller reads ECR over the registry HTTP API"),
        **dict.fromkeys(
            VPC_BUILD,
            "CodeBuild places the network interface of a VPC build (BuildVpcId only)",
        ),
    },
    "ScanAccessRole": dict.fromkeys(
        ECR_REGISTRY_API, "the hub's build pulls member images over the registry HTTP API"
    ),
    "GateRole": {
        "logs:CreateLogStream": "the Lambda runtime writes the hooks' log",
        "logs:PutLogEvents": "the Lambda runtime writes the hooks' log",
    },
    "GateCodeDeployRole": {
        "logs:CreateLogStream": "the Lambda runtime writes the hook's log",
        "logs:PutLogEvents": "the Lambda runtime writes the hook's log",
    },
    "GateEcsHookInvokeRole": {
        "lambda:InvokeFunction": "ECS invokes the lifecycle hook as this role (no code of ours)",
    },
    "GateCfnHookRole": {
        "lambda:InvokeFunction": "CloudFormation invokes the Lambda hook as this role",
    },
    "GateForwarderRole": {
        "logs:CreateLogStream": "the Lambda runtime writes the forwarder's log",
        "logs:PutLogEvents": "the Lambda runtime writes the forwarder's log",
        "lambda:InvokeFunction": "the template's inline forwarder invokes the hub's ECS hook",
    },
    "SpokeGateInvokeRole": {
        "lambda:InvokeFunction": "ECS invokes the member account's hook as this role",
    },
}


def granted(template: dict[str, Any], role: str) -> set[str]:
    """Every action an Allow statement of the role's inline policies names."""
    actions: set[str] = set()
    for statement in policy_statements(template["Resources"][role]):
        assert statement["Effect"] == "Allow"
        action = statement["Action"]
        actions.update(action if isinstance(action, list) else [action])
    return actions


def _calls(entries: list[str]) -> Calls:
    trees = {}
    for entry in entries:
        trees.update(closure(entry))
    return calls_in(trees.values())


def _file_calls(module: str) -> Calls:
    """Calls in one module only (the code that runs under an assumed member-account role)."""
    return calls_in([closure(module)[module]])


# role -> (template, the code that runs as that role)
ROLES = {
    # The Lambda runs dispatcher.handler and whatever it imports.
    "DispatcherRole": ("scanner", lambda: _calls(["dispatcher.handler"])),
    # The build runs `deployscan scan` (buildspecs/scan.yml).
    "ScanBuildRole": ("scanner", lambda: _calls(["scanner_runner.cli.scan"])),
    # Assumed by the dispatcher's lookups and by the build's puller in member accounts.
    "ScanAccessRole": (
        "account-spoke",
        lambda: calls_in(
            [
                closure("dispatcher.resolve_aws")["dispatcher.resolve_aws"],
                closure("dispatcher.sweep.inventory")["dispatcher.sweep.inventory"],
                # zip code lookups, by the dispatcher and by the build (scanner_runner.lambdazip)
                closure("dispatcher.lambdacode")["dispatcher.lambdacode"],
                closure("scanner_runner.registry.credentials")[
                    "scanner_runner.registry.credentials"
                ],
                # The gate reads a member account's service revision through this role.
                closure("dispatcher.gate.revision")["dispatcher.gate.revision"],
            ]
        ),
    ),
    # The ECS lifecycle hook and the CloudFormation hook share one role.
    "GateRole": (
        "scanner",
        lambda: _calls(["dispatcher.gate.ecs_hook", "dispatcher.gate.cfn_hook"]),
    ),
    "GateCodeDeployRole": ("scanner", lambda: _calls(["dispatcher.gate.codedeploy_hook"])),
    # Roles AWS services assume to invoke a hook: what they do is all PLATFORM.
    "GateEcsHookInvokeRole": ("scanner", lambda: calls_in([])),
    "GateCfnHookRole": ("scanner", lambda: calls_in([])),
    # The member account's forwarder is inline template code (tests/cfn/test_gate_forwarder.py).
    "GateForwarderRole": ("account-spoke", lambda: calls_in([])),
    "SpokeGateInvokeRole": ("account-spoke", lambda: calls_in([])),
}


# Calls the derivation cannot see by name (their method is in NOT_AWS), per role.
ALSO_CALLED = {
    "DispatcherRole": {"dynamodb:Scan": "ScanCacheTable.in_use reads the in-use index"},
    "ScanBuildRole": {"dynamodb:Scan": "ScanCacheTable.in_use: where the scanned digest runs"},
    "GateRole": {"s3:GetObjectVersion": "the CFN hook reads Code.S3ObjectVersion (VersionId)"},
}


def needed(role: str) -> set[str]:
    """What the code run as the role calls, plus what AWS does with the role for it."""
    _, code = ROLES[role]
    called = set(code().actions(NOT_AWS))
    actions = (called | set(ALSO_CALLED.get(role, {}))) - NO_PERMISSION
    if role == "ScanAccessRole":
        actions.discard("sts:AssumeRole")  # the hub roles assume it; it assumes nothing
    return actions | set(PLATFORM[role])


@pytest.mark.parametrize("role", sorted(ROLES))
def test_role_grants_exactly_what_its_code_calls(
    templates: dict[str, dict[str, Any]], role: str
) -> None:
    template_name, _ = ROLES[role]
    have = granted(templates[template_name], role)
    want = needed(role)
    assert sorted(want - have) == [], "called but not granted"
    assert sorted(have - want) == [], "granted but never called"


def test_the_derivation_sees_the_calls_we_know_about() -> None:
    """Guards the AST scan itself: if it missed these, the equality above would be hollow."""
    dispatcher = _calls(["dispatcher.handler"]).actions(NOT_AWS)
    assert {"codebuild:StartBuild", "dynamodb:PutItem", "ecs:DescribeTaskDefinition"} <= dispatcher
    assert {"lambda:GetFunction", "ecr:DescribeImages", "sts:AssumeRole"} <= dispatcher
    assert {"sqs:ChangeMessageVisibility", "sqs:SendMessage"} <= dispatcher
    runner = _calls(["scanner_runner.cli.scan"]).actions(NOT_AWS)
    assert {"s3:PutObject", "sns:Publish", "ecr:GetAuthorizationToken"} <= runner


def test_not_aws_entries_are_still_needed() -> None:
    names = _calls(["dispatcher.handler", "scanner_runner.cli.scan"])
    for name in NOT_AWS:
        assert name in names.method_names
        assert any(name in operations(s) for s in names.services), name


# IAM action names that are not API operation names.
IAM_ONLY = {
    "lambda:InvokeFunction": "IAM's name for Invoke",
    "s3:GetObjectVersion": "IAM's name for GetObject with a versionId",
    "codebuild:CreateReport": "permission-only: CodeBuild's own report upload",
    "codebuild:UpdateReport": "permission-only: CodeBuild's own report upload",
    "codebuild:BatchPutTestCases": "permission-only: CodeBuild's own report upload",
}


def test_platform_actions_are_real_iam_actions() -> None:
    for role, table in PLATFORM.items():
        for action in set(table) - set(IAM_ONLY):
            service, api = action.split(":")
            assert api in operations(service).values(), (role, action)


def test_assume_role_targets_only_the_member_role(templates: dict[str, dict[str, Any]]) -> None:
    for role in ("DispatcherRole", "ScanBuildRole"):
        statements = policy_statements(templates["scanner"]["Resources"][role])
        (assume,) = [s for s in statements if s["Action"] == "sts:AssumeRole"]
        assert assume["Resource"] == {
            "Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${CrossAccountRoleName}"
        }
        seen: list[Any] = []
        walk(assume["Condition"], seen.append)
        assert "aws:ResourceOrgID" in str(seen)
