"""The templates through moto's CloudFormation (what it supports of them), and moto's own
EventBridge evaluating the created rules against the sample events.

moto skips CodeBuild projects, report groups, secrets, alarms, SNS subscriptions/policies and a
few more without error (offline stack notes); those are covered by test_templates.py instead.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any

import boto3
import pytest
from moto.cloudformation.parsing import get_model_map

from dispatcher.retry import QUEUE_MAX_RECEIVES
from tests.cfn.conftest import load_event, load_template
from tests.cfn.test_patterns import EXPECTED_ROUTE

# moto warns once per resource type it skips; that is the expected, documented gap here.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")

REGION = "us-east-1"
SHA = "ab" * 32
HUB_BUS = "arn:aws:events:us-east-1:111111111111:event-bus/deployscan-central"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "dispatcher/handler.py", "def lambda_handler(event, context):\n    return {}\n"
        )
    return buffer.getvalue()


def moto_subset(template: dict[str, Any]) -> dict[str, Any]:
    """The template without the resource types moto cannot create, references to them replaced
    by placeholder ARNs (moto aborts on a GetAtt of a resource it skipped)."""
    supported = set(get_model_map())
    dropped = {k for k, v in template["Resources"].items() if v["Type"] not in supported}

    def fix(node: Any) -> Any:
        if isinstance(node, dict):
            if node.get("Ref") in dropped:
                return f"placeholder-{node['Ref']}"
            getatt = node.get("Fn::GetAtt")
            if isinstance(getatt, list) and getatt[0] in dropped:
                return f"arn:aws:placeholder:{REGION}:123456789012:{getatt[0]}"
            if "Fn::Sub" in node:
                return {"Fn::Sub": fix_sub(node["Fn::Sub"])}
            return {k: fix(v) for k, v in node.items() if k != "DependsOn" or v not in dropped}
        if isinstance(node, list):
            return [fix(v) for v in node]
        return node

    def fix_sub(value: str | list[Any]) -> str | list[Any]:  # text, or [text, {name: value}]
        return sub(value) if isinstance(value, str) else [sub(value[0]), fix(value[1])]

    def sub(text: str) -> str:
        pattern = r"\$\{(" + "|".join(map(re.escape, dropped)) + r")(\.[A-Za-z]+)?\}"
        return re.sub(pattern, r"placeholder-\1", text) if dropped else text

    out = fix({k: v for k, v in template.items() if k != "Outputs"})
    out["Resources"] = {k: v for k, v in out["Resources"].items() if k not in dropped}
    return out


def _create(name: str, template: str, params: dict[str, str]) -> dict[str, Any]:
    cfn = boto3.client("cloudformation", region_name=REGION)
    body = moto_subset(load_template(template.removesuffix(".yaml")))
    cfn.create_stack(
        StackName=name,
        TemplateBody=json.dumps(body),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    resources = cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}


def _scanner_stack(org: str = "") -> dict[str, Any]:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="artifacts-example")
    s3.put_object(Bucket="artifacts-example", Key="deployscan/dispatcher-1.zip", Body=_zip())
    return _create(
        "deployscan",
        "scanner.yaml",
        {
            "ArtifactsBucket": "artifacts-example",
            "DispatcherCodeKey": "deployscan/dispatcher-1.zip",
            "RunnerBundleKey": "deployscan/runner-1.zip",
            "QualysPod": "US2",
            "QualysAccessToken": "not-a-real-token",
            "QScannerUrl": "https://downloads.example.com/qscanner.gz",
            "QScannerSha256": SHA,
            "OrganizationId": org,
        },
    )


@pytest.mark.usefixtures("aws")
def test_scanner_stack_creates_its_supported_resources() -> None:
    created = _scanner_stack()
    ddb = boto3.client("dynamodb", region_name=REGION)
    table = ddb.describe_table(TableName=created["ScanCacheTable"])["Table"]
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    sqs = boto3.client("sqs", region_name=REGION)
    attrs = sqs.get_queue_attributes(QueueUrl=created["EventQueue"], AttributeNames=["All"])
    redrive = json.loads(attrs["Attributes"]["RedrivePolicy"])
    assert redrive["maxReceiveCount"] == QUEUE_MAX_RECEIVES
    assert redrive["deadLetterTargetArn"].endswith(created["DeadLetterQueue"].rsplit("/", 1)[1])
    function = boto3.client("lambda", region_name=REGION).get_function(
        FunctionName=created["Dispatcher"]
    )["Configuration"]
    assert function["Handler"] == "dispatcher.handler.lambda_handler"
    env = function["Environment"]["Variables"]
    assert env["SCAN_CACHE_TABLE"] == created["ScanCacheTable"]
    iam = boto3.client("iam", region_name=REGION)
    assert iam.get_role(RoleName="deployscan-dispatcher")["Role"]
    assert iam.get_role(RoleName="deployscan-scan-build")["Role"]
    rules = boto3.client("events", region_name=REGION).list_rules()["Rules"]
    assert len(rules) == 4  # no hub rules without OrganizationId; 3 deploy rules, first sweep


@pytest.mark.usefixtures("aws")
def test_hub_mode_adds_the_central_bus_and_its_rules() -> None:
    created = _scanner_stack(org="o-exampleorg1")
    events = boto3.client("events", region_name=REGION)
    assert "CentralEventBus" in created
    assert "deployscan-central" in [b["Name"] for b in events.list_event_buses()["EventBuses"]]
    assert len(events.list_rules(EventBusName="deployscan-central")["Rules"]) == 3


@pytest.mark.usefixtures("aws")
def test_moto_eventbridge_routes_exactly_the_expected_events_to_the_queue() -> None:
    created = _scanner_stack()
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    queue = created["EventQueue"]
    for name, expected in sorted(EXPECTED_ROUTE.items()):
        event = load_event(name)
        events.put_events(
            Entries=[
                {
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"]),
                    "Resources": event["resources"],
                }
            ]
        )
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = got.get("Messages", [])
        assert len(messages) == (1 if expected else 0), name
        for message in messages:
            assert json.loads(message["Body"])["detail"] == event["detail"]
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])


@pytest.mark.usefixtures("aws")
def test_region_spoke_creates_rules_forwarding_to_the_primary_bus() -> None:
    bus = "arn:aws:events:eu-west-1:123456789012:event-bus/default"
    created = _create("deployscan-region", "region-spoke.yaml", {"TargetEventBusArn": bus})
    events = boto3.client("events", region_name=REGION)
    for rid in ("EcsTaskRunningRule", "EcsApiRule", "LambdaApiRule"):
        (target,) = events.list_targets_by_rule(Rule=created[rid])["Targets"]
        assert target["Arn"] == bus
        assert target["RoleArn"].endswith(created["ForwardRole"])


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(("primary", "role_created"), [(REGION, True), ("eu-west-1", False)])
def test_account_spoke_creates_the_scan_role_only_in_its_primary_region(
    primary: str, role_created: bool
) -> None:
    created = _create(
        "deployscan-spoke",
        "account-spoke.yaml",
        {
            "CentralEventBusArn": HUB_BUS,
            "SecurityAccountId": "111111111111",
            "PrimaryRegion": primary,
            "EnableCloudTrailRules": "false",
        },
    )
    assert ("ScanAccessRole" in created) is role_created
    assert "EcsTaskRunningRule" in created
    assert "EcsApiRule" not in created
    roles = boto3.client("iam").list_roles()["Roles"]
    assert any(r["RoleName"] == "deployscan-scan-access" for r in roles) is role_created


@pytest.mark.usefixtures("aws")
def test_events_forwarded_to_the_hub_bus_reach_the_queue() -> None:
    created = _scanner_stack(org="o-exampleorg1")
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    for name in ("ecs-task-running", "ecs-task-stopped", "lambda-updatefunctioncode"):
        event = load_event(name)
        events.put_events(
            Entries=[
                {
                    "EventBusName": "deployscan-central",
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"]),
                }
            ]
        )
    got = sqs.receive_message(QueueUrl=created["EventQueue"], MaxNumberOfMessages=10)
    kinds = sorted(json.loads(m["Body"])["detail-type"] for m in got.get("Messages", []))
    assert kinds == ["AWS API Call via CloudTrail", "ECS Task State Change"]
