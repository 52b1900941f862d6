"""Dispatcher fixtures: event files, the scan-cache table in moto (real conditional-write
semantics), a counting client, a recording launcher."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from dispatcher.buildvars import BuildRequest
from dispatcher.errors import LaunchError
from dispatcher.launch import Launcher
from dispatcher.scancache import ScanCacheTable
from dispatcher.settings import Settings
from tests.dispatcher.fakes import CountingClient

EVENTS = Path(__file__).resolve().parent.parent / "events"
ACCOUNT = "210987654321"
REGION = "eu-central-1"
D1 = "sha256:" + "3c" * 32
ECR = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
TABLE = "deployscan-scan-cache"


def load_event(name: str) -> Any:
    """One fixture from tests/events, parsed."""
    return json.loads((EVENTS / name).read_text())


def settings(**changes: Any) -> Settings:
    """Settings as a deployment would have them."""
    values: dict[str, Any] = {"project_name": "deployscan-scan", "cache_table": TABLE}
    values.update(changes)
    return Settings(**values)


def create_table(client: Any, name: str = TABLE) -> None:
    """The scan-cache table as the templates define it: key pk, TTL on expires_at."""
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def dynamodb(aws: None) -> Any:
    """A moto DynamoDB client with the scan-cache table."""
    client = boto3.client("dynamodb", region_name=REGION)
    create_table(client)
    return client


@pytest.fixture
def layers() -> Iterator[Stubber]:
    """A stubbed Lambda client for GetLayerVersionByArn (moto lacks it); every answer is used."""
    client = boto3.client("lambda", region_name=REGION)
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def counting(dynamodb: Any) -> CountingClient:
    """The moto client, counting its item calls."""
    return CountingClient(dynamodb)


@pytest.fixture
def cache(counting: CountingClient) -> ScanCacheTable:
    """The scan-cache table over moto (the real conditional-write semantics)."""
    return ScanCacheTable(counting, TABLE)


def table_items(client: Any) -> dict[str, dict[str, Any]]:
    """Every item of the scan-cache table: key -> {attribute: plain value}."""
    items = client.scan(TableName=TABLE).get("Items", [])
    return {
        item["pk"]["S"]: {name: next(iter(value.values())) for name, value in item.items()}
        for item in items
    }


class RecordingLauncher(Launcher):
    """A `Launcher` that records requests; `throttle(n)` makes the next n calls throttle,
    `refuse(n)` makes them meet the project's concurrent-build limit."""

    def __init__(self) -> None:
        self.requests: list[BuildRequest] = []
        self.attempts = 0
        self._throttle_next = 0
        self._refuse_next = 0
        self._lock = threading.Lock()

    def throttle(self, count: int) -> None:
        self._throttle_next = count

    def refuse(self, count: int) -> None:
        self._refuse_next = count

    def start(self, request: BuildRequest) -> str:
        request.environment()
        with self._lock:
            self.attempts += 1
            if self._throttle_next > 0:
                self._throttle_next -= 1
                raise LaunchError("ThrottlingException", throttled=True)
            if self._refuse_next > 0:
                self._refuse_next -= 1
                raise LaunchError("AccountLimitExceededException", capacity=True)
            self.requests.append(request)
            return f"deployscan-scan:{len(self.requests)}"


def sqs_record(
    event: Any, message_id: str, *, sent_at: float, receives: int = 1, body: str | None = None
) -> dict[str, Any]:
    """One record of an SQS batch as the Lambda event source mapping delivers it."""
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}-{receives}",
        "body": json.dumps(event) if body is None else body,
        "attributes": {
            "ApproximateReceiveCount": str(receives),
            "SentTimestamp": str(int(sent_at * 1000)),
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": str(int(sent_at * 1000)),
        },
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:deployscan-events",
        "awsRegion": REGION,
    }


def image_event(number: int) -> dict[str, Any]:
    """A RUNNING task of one service whose one image is number `number` (distinct digests)."""
    event = load_event("ecs-task-running.json")
    event["id"] = f"evt-{number}"
    event["detail"]["containers"] = [
        {"name": "app", "image": f"{ECR}/svc{number}:1", "imageDigest": f"sha256:{number:064x}"}
    ]
    return event


def create_project(client: Any, name: str) -> None:
    """A scan project in moto's CodeBuild (moto insists on a source location)."""
    client.create_project(
        name=name,
        source={"type": "S3", "location": "deployscan-artifacts/source.zip"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        serviceRole="arn:aws:iam::123456789012:role/deployscan-build",
    )


def push_ecr_image(repository: str, tag: str, *, region: str) -> str:
    """Put a manifest into moto's ECR (a new repository) under `tag`; the digest ECR reports."""
    ecr = boto3.client("ecr", region_name=region)
    ecr.create_repository(repositoryName=repository)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 2,
                   "digest": "sha256:" + "a" * 64},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "size": 3,
                    "digest": "sha256:" + "b" * 64}],
    }  # fmt: skip
    ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag)
    images = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])
    digest: str = images["imageDetails"][0]["imageDigest"]
    return digest
