"""The templates' promises, read from the parsed YAML: lint-clean, wiring, security settings."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from cfnlint.api import lint_file

from tests.cfn.conftest import CFN, ROOT, TEMPLATE_NAMES, policy_statements, resources_of, walk

# Actions that have no resource-level permission in IAM: the only ones allowed on "*".
NO_RESOURCE_LEVEL = {
    "ecr:GetAuthorizationToken",
    "ecs:DescribeTaskDefinition",
    # What a VPC build's network interface needs CodeBuild to look up.
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
    # The sweep's listing calls (ListTasks is scoped to container instances, which Fargate
    # tasks do not have).
    "ecs:ListClusters",
    "ecs:ListTasks",
    "lambda:ListFunctions",
}


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_cfn_lint_is_clean(name: str) -> None:
    matches = lint_file(Path(CFN / f"{name}.yaml"))
    assert [str(m) for m in matches] == []


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_every_output_says_what_it_is(templates: dict[str, dict[str, Any]], name: str) -> None:
    outputs = templates[name]["Outputs"]
    assert outputs
    bare = [k for k, v in outputs.items() if not str(v.get("Description", "")).strip()]
    assert bare == [], f"{name}.yaml outputs without a Description"


def _statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for role in resources_of(template, "AWS::IAM::Role").values():
        found += policy_statements(role)
    return found


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_wildcard_resources_only_where_iam_has_nothing_narrower(
    templates: dict[str, dict[str, Any]], name: str
) -> None:
    for statement in _statements(templates[name]):
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert all(":" in a and "*" not in a for a in actions), actions
        if statement["Resource"] == "*":
            assert set(actions) <= NO_RESOURCE_LEVEL, actions


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_wildcard_statements_carry_a_comment(name: str) -> None:
    lines = (CFN / f"{name}.yaml").read_text().splitlines()
    for i, line in enumerate(lines):
        if line.strip() == 'Resource: "*"' and "Principal" not in lines[i - 1]:
            context = "\n".join(lines[max(0, i - 3) : i])
            assert "#" in context, f"{name}.yaml:{i + 1} has Resource * without a reason"


def test_rules_route_into_the_queue_with_retries_and_dlq(scanner: dict[str, Any]) -> None:
    rules = resources_of(scanner, "AWS::Events::Rule")
    assert len(rules) == 7  # six deploy rules and the first sweep's
    policy = scanner["Resources"]["EventQueuePolicy"]["Properties"]["PolicyDocument"]
    allowed = json.dumps(policy["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"])
    for rid, rule in rules.items():
        (target,) = rule["Properties"]["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": ["EventQueue", "Arn"]}
        assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
        assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
        assert json.dumps({"Fn::GetAtt": [rid, "Arn"]}) in allowed
        bus = rule["Properties"].get("EventBusName")
        assert (bus == {"Fn::GetAtt": ["CentralEventBus", "Name"]}) is rid.startswith("Hub")


@pytest.mark.parametrize(("name", "bus"), [("region-spoke", "TargetEventBusArn"),
                                           ("account-spoke", "CentralEventBusArn")])  # fmt: skip
def test_spoke_rules_forward_to_the_bus_with_their_role(
    templates: dict[str, dict[str, Any]], name: str, bus: str
) -> None:
    template = templates[name]
    rules = resources_of(template, "AWS::Events::Rule")
    assert len(rules) == 3
    for rule in rules.values():
        (target,) = rule["Properties"]["Targets"]
        assert target["Arn"] == {"Ref": bus}
        assert target["RoleArn"] == {"Fn::GetAtt": ["ForwardRole", "Arn"]}
    (statement,) = template["Resources"]["ForwardRole"]["Properties"]["Policies"][0][
        "PolicyDocument"
    ]["Statement"]
    assert statement["Action"] == "events:PutEvents"
    assert statement["Resource"] == {"Ref": bus}
    # Only the queue-free spokes: nothing but rules and roles (plus the optional trail, and the
    # optional deploy-gate hook forwarding to the hub).
    optional = {"MakeTrail", "UseGate"}
    kinds = {
        r["Type"] for r in template["Resources"].values() if r.get("Condition") not in optional
    }
    assert kinds == {"AWS::Events::Rule", "AWS::IAM::Role"}


def test_hub_bus_admits_only_the_organization(scanner: dict[str, Any]) -> None:
    policy = scanner["Resources"]["CentralEventBusPolicy"]
    assert policy["Condition"] == "IsHub"
    statement = policy["Properties"]["Statement"]
    assert statement["Action"] == "events:PutEvents"
    assert statement["Condition"] == {
        "StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}
    }
    assert scanner["Conditions"]["IsHub"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "OrganizationId"}, ""]}]
    }


def test_account_spoke_role_trusts_only_the_hub_roles(templates: dict[str, dict[str, Any]]) -> None:
    role = templates["account-spoke"]["Resources"]["ScanAccessRole"]
    assert role["Condition"] == "InPrimaryRegion"  # IAM is global: one stack instance creates it
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    principal = json.dumps(trust["Principal"])
    assert "SecurityAccountId" in principal and ":root" in principal
    arns = [a["Fn::Sub"] for a in trust["Condition"]["ArnEquals"]["aws:PrincipalArn"]]
    assert sorted(a.rsplit("/", 1)[1] for a in arns) == [
        "${HubProjectName}-dispatcher",
        "${HubProjectName}-gate",
        "${HubProjectName}-scan-build",
    ]
    assert role["Properties"]["RoleName"] == {"Ref": "CrossAccountRoleName"}


def test_hub_role_names_match_what_the_spoke_trusts(scanner: dict[str, Any]) -> None:
    res = scanner["Resources"]
    assert res["DispatcherRole"]["Properties"]["RoleName"] == {
        "Fn::Sub": "${ProjectName}-dispatcher"
    }
    assert res["ScanBuildRole"]["Properties"]["RoleName"] == {
        "Fn::Sub": "${ProjectName}-scan-build"
    }
    assert res["GateRole"]["Properties"]["RoleName"] == {"Fn::Sub": "${ProjectName}-gate"}


def test_report_bucket_is_locked_down(scanner: dict[str, Any]) -> None:
    props = scanner["Resources"]["ReportBucket"]["Properties"]
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == {"Ref": "ReportRetentionDays"}
    tls = scanner["Resources"]["ReportBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert {"Bool": {"aws:SecureTransport": "false"}} in [
        s["Condition"] for s in tls if s["Effect"] == "Deny"
    ]


def test_queue_has_a_dead_letter_queue_and_the_dispatcher_reports_item_failures(
    scanner: dict[str, Any],
) -> None:
    res = scanner["Resources"]
    redrive = res["EventQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    mapping = res["DispatcherEventSource"]["Properties"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["EventQueue", "Arn"]}
    function = res["Dispatcher"]["Properties"]
    assert function["Handler"] == "dispatcher.handler.lambda_handler"
    assert function["ReservedConcurrentExecutions"] == {"Ref": "DispatcherReservedConcurrency"}
    # AWS's advice: visibility timeout at least six times the function timeout.
    assert res["EventQueue"]["Properties"]["VisibilityTimeout"] >= 6 * function["Timeout"]


def test_the_dispatcher_alone_sets_its_log_format(scanner: dict[str, Any]) -> None:
    config = scanner["Resources"]["Dispatcher"]["Properties"]["LoggingConfig"]
    # dispatcher/logs.py writes JSON lines with the request id; Lambda's JSON format stays off.
    assert config.get("LogFormat", "Text") == "Text"
    assert config["LogGroup"] == {"Ref": "DispatcherLogGroup"}


def test_scan_project_is_small_unprivileged_and_limited(scanner: dict[str, Any]) -> None:
    props = scanner["Resources"]["ScanProject"]["Properties"]
    env = props["Environment"]
    assert env["ComputeType"] == "BUILD_GENERAL1_SMALL"
    assert env["PrivilegedMode"] is False
    assert props["Source"]["Type"] == "S3"
    assert props["Source"]["BuildSpec"] == "buildspecs/scan.yml"
    assert props["ConcurrentBuildLimit"] == {"Ref": "ConcurrentBuildLimit"}
    assert props["TimeoutInMinutes"] == {"Ref": "BuildTimeoutMinutes"}
    assert props["LogsConfig"]["CloudWatchLogs"]["GroupName"] == {"Ref": "BuildLogGroup"}
    secrets = [v for v in env["EnvironmentVariables"] if v["Type"] != "PLAINTEXT"]
    assert [v["Name"] for v in secrets] == ["QUALYS_ACCESS_TOKEN"]
    assert secrets[0]["Type"] == "SECRETS_MANAGER"


def test_no_secret_in_plaintext_variables(scanner: dict[str, Any]) -> None:
    env = scanner["Resources"]["ScanProject"]["Properties"]["Environment"]["EnvironmentVariables"]
    for var in env:
        if var["Type"] == "PLAINTEXT":
            assert "QualysAccessToken" not in json.dumps(var["Value"]), var["Name"]
    token = scanner["Parameters"]["QualysAccessToken"]
    assert token["NoEcho"] is True
    # The token is embedded in the secret's JSON: no quote or backslash may get in.
    pattern = re.compile(token["AllowedPattern"])
    assert pattern.match("eyJhbGciOi.J9-_x/y+z=") and pattern.match("")
    assert not pattern.match('abc","x":"y') and not pattern.match("a\\b")


def test_report_group_is_the_one_the_buildspec_names(scanner: dict[str, Any]) -> None:
    buildspec = yaml.safe_load((ROOT / "buildspecs" / "scan.yml").read_text())
    (report_key,) = buildspec["reports"]
    project = scanner["Resources"]["ScanProject"]["Properties"]["Name"]["Fn::Sub"]
    group = scanner["Resources"]["FindingsReportGroup"]["Properties"]
    assert group["Name"] == {"Fn::Sub": f"{project}-{report_key}"}
    assert group["Type"] == "TEST"
    assert group["ExportConfig"]["S3Destination"]["Bucket"] == {"Ref": "ReportBucket"}
    assert buildspec["reports"][report_key]["file-format"].upper() == "JUNITXML"


def test_qualys_pod_parameter_lists_the_pods(scanner: dict[str, Any]) -> None:
    pods = scanner["Parameters"]["QualysPod"]["AllowedValues"]
    assert {"US1", "US2", "EU1", "KSA1"} <= set(pods)


def test_every_resource_reference_exists(templates: dict[str, dict[str, Any]]) -> None:
    for template in templates.values():
        known = set(template["Resources"]) | set(template.get("Parameters", {}))
        refs: list[str] = []

        def visit(node: Any, out: list[str] = refs) -> None:
            if isinstance(node, dict) and "Ref" in node and not node["Ref"].startswith("AWS::"):
                out.append(node["Ref"])

        walk(template["Resources"], visit)
        assert set(refs) <= known
