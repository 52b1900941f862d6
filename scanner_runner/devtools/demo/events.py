"""Real-shaped deploy events for the demo, pointing at the sample images in the local registry.

Shapes follow EventBridge's envelope and CloudTrail's record as AWS delivers them: an ECS Task
State Change (native, with image digests), a RegisterTaskDefinition with several containers
(one pinned by digest, CDK-style, one arm64-only task), a Lambda CreateFunction for an image
pinned by digest, and a redelivery of the first event (EventBridge is at-least-once).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scanner_runner.devtools.demo.images import SampleImage

ACCOUNT = "123456789012"
REGION = "us-east-1"
CLUSTER_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/shop"
TIME = "2026-03-02T10:15:00Z"


@dataclass(frozen=True)
class DemoEvent:
    """One event fed to the dispatcher, with a label for the summary."""

    label: str
    event: dict[str, Any]


def _envelope(event_id: str, source: str, detail_type: str, detail: dict[str, Any],
              resources: list[str]) -> dict[str, Any]:  # fmt: skip
    return {
        "version": "0",
        "id": event_id,
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        "time": TIME,
        "region": REGION,
        "resources": resources,
        "detail": detail,
    }


def _cloudtrail(event_id: str, source: str, name: str, request: dict[str, Any],
                response: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    detail = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "accountId": ACCOUNT,
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/pipeline",
        },
        "eventTime": TIME,
        "eventSource": f"{source.removeprefix('aws.')}.amazonaws.com",
        "eventName": name,
        "awsRegion": REGION,
        "sourceIPAddress": "203.0.113.10",
        "userAgent": "aws-cdk/2.140.0",
        "requestParameters": request,
        "responseElements": response,
        "requestID": f"req-{event_id}",
        "eventID": f"ct-{event_id}",
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
    }
    return _envelope(event_id, source, "AWS API Call via CloudTrail", detail, [])


def task_running(host: str, service: SampleImage, sidecar: SampleImage | None) -> dict[str, Any]:
    """ECS Task State Change, RUNNING, with each container's image and digest."""
    task_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/shop/5f1c2a9e8b7d4c3fa1e2d3c4b5a69788"
    containers = [
        {
            "containerArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:container/shop/{index:032x}",
            "name": sample.repository.rpartition("/")[2],
            "image": f"{host}/{sample.repository}:{sample.tag}",
            "imageDigest": sample.digest,
            "lastStatus": "RUNNING",
            "taskArn": task_arn,
        }
        for index, sample in enumerate((service, *([sidecar] if sidecar else [])), start=1)
    ]
    detail = {
        "clusterArn": CLUSTER_ARN,
        "containers": containers,
        "desiredStatus": "RUNNING",
        "group": "service:checkout",
        "lastStatus": "RUNNING",
        "launchType": "FARGATE",
        "startedBy": "ecs-svc/9182736455463728190",
        "taskArn": task_arn,
        "taskDefinitionArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/checkout:14",
        "version": 3,
        "cpu": "512",
        "memory": "1024",
    }
    return _envelope("7e1d0c55-3a41-4b8e-9d0f-1c2b3a4d5e6f", "aws.ecs", "ECS Task State Change",
                     detail, [task_arn])  # fmt: skip


def register_task_definition(host: str, proxy: SampleImage, sidecar: SampleImage) -> dict[str, Any]:
    """CloudTrail RegisterTaskDefinition: an arm64 proxy task with a digest-pinned sidecar."""
    containers = [
        {"name": "edge-proxy", "image": f"{host}/{proxy.repository}:{proxy.tag}",
         "essential": True, "portMappings": [{"containerPort": 8080, "protocol": "tcp"}]},
        {"name": "log-shipper", "image": f"{host}/{sidecar.repository}@{sidecar.digest}",
         "essential": False},
    ]  # fmt: skip
    request = {
        "family": "edge",
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
        "containerDefinitions": containers,
    }
    response = {
        "taskDefinition": {
            **request,
            "taskDefinitionArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/edge:3",
            "revision": 3,
            "status": "ACTIVE",
        }
    }
    return _cloudtrail("b3a9f1d2-6c7e-4f80-a1b2-c3d4e5f60718", "aws.ecs",
                       "RegisterTaskDefinition", request, response)  # fmt: skip


def create_function(host: str, function: SampleImage) -> dict[str, Any]:
    """CloudTrail CreateFunction20150331 for an arm64 image pinned by digest (as CDK deploys)."""
    uri = f"{host}/{function.repository}@{function.digest}"
    request = {"functionName": "thumbnailer", "packageType": "Image", "code": {"imageUri": uri},
               "role": f"arn:aws:iam::{ACCOUNT}:role/thumbnailer", "architectures": ["arm64"],
               "publish": True}  # fmt: skip
    response = {
        "functionName": "thumbnailer",
        "functionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:thumbnailer:1",
        "packageType": "Image",
        "architectures": ["arm64"],
        "state": "Pending",
        "codeSha256": function.digest.removeprefix("sha256:"),
    }
    return _cloudtrail("c0ffee00-1234-4abc-8def-0123456789ab", "aws.lambda",
                       "CreateFunction20150331", request, response)  # fmt: skip


def demo_events(host: str, samples: dict[str, SampleImage], *, quick: bool) -> list[DemoEvent]:
    """The events in the order the demo feeds them (quick: one image and its redelivery)."""
    service, sidecar = samples["shop/checkout-api"], samples["shop/log-shipper"]
    first = task_running(host, service, None if quick else sidecar)
    events = [DemoEvent("ECS Task State Change (RUNNING)", first)]
    if not quick:
        proxy, function = samples["shop/edge-proxy"], samples["fn/thumbnailer"]
        events.append(DemoEvent("ecs:RegisterTaskDefinition (2 containers, arm64)",
                                register_task_definition(host, proxy, sidecar)))  # fmt: skip
        events.append(DemoEvent("lambda:CreateFunction (image)", create_function(host, function)))
    events.append(DemoEvent("ECS Task State Change, delivered again", first))
    return events


def lambda_call(
    event_id: str, name: str, request: dict[str, Any], response: dict[str, Any]
) -> dict[str, Any]:
    """A CloudTrail Lambda API call (e.g. the zip step's PublishLayerVersion20181031)."""
    return _cloudtrail(event_id, "aws.lambda", name, request, response)
