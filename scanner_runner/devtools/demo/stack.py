"""The scanner stack's resources, created in the AWS emulator with the templates' names and
the scan project's environment (mirroring cfn/scanner.yaml: moto cannot create a CodeBuild
project or a secret from a template, so they are made here with the same settings).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dispatcher.buildvars import COMPUTE_TIER, TIER_EC2
from dispatcher.scancache import PARTITION_KEY, TTL_ATTRIBUTE
from scanner_runner.devtools.localbuild.model import EnvVar

ClientFactory = Callable[[str], Any]


@dataclass(frozen=True)
class StackNames:
    """Resource names, as the scanner template derives them from ProjectName=deployscan."""

    project: str = "deployscan-scan"
    bucket: str = "deployscan-reports-123456789012"
    artifacts_bucket: str = "deployscan-artifacts-123456789012"
    table: str = "deployscan-scan-cache"
    topic: str = "deployscan-findings"
    # the project passes its token to builds as a SECRETS_MANAGER variable, as the template does
    secret_name: str = "deployscan/qualys"  # noqa: S105 - a name, not a password
    prefix: str = "reports"


@dataclass(frozen=True)
class Stack:
    """What was created; `environment` is the scan project's environment variables."""

    names: StackNames
    topic_arn: str
    secret_arn: str
    environment: tuple[EnvVar, ...]


def create_stack(
    client: ClientFactory,
    names: StackNames = StackNames(),
    *,
    scanner: str = "syft",
    qualys_pod: str = "",
    qualys_token: str = "",
    insecure_registries: str = "",
    fail_on: str = "high",
    extra_env: tuple[EnvVar, ...] = (),
) -> Stack:
    """Create bucket, cache table (TTL on), topic, Qualys secret and the CodeBuild project."""
    s3 = client("s3")
    for bucket in (names.bucket, names.artifacts_bucket):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_encryption(
        Bucket=names.bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    ddb = client("dynamodb")
    ddb.create_table(
        TableName=names.table,
        KeySchema=[{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": PARTITION_KEY, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.update_time_to_live(
        TableName=names.table,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )
    topic_arn = client("sns").create_topic(Name=names.topic)["TopicArn"]
    secret = {"qualys_pod": qualys_pod, "qualys_access_token": qualys_token}
    secret_arn = client("secretsmanager").create_secret(
        Name=names.secret_name, SecretString=json.dumps(secret)
    )["ARN"]
    environment = (
        EnvVar(COMPUTE_TIER.name, TIER_EC2),  # the template's EC2 project, which this mirrors
        EnvVar("RESULTS_S3_BUCKET", names.bucket),
        EnvVar("RESULTS_S3_PREFIX", names.prefix),
        EnvVar("SNS_TOPIC_ARN", topic_arn),
        EnvVar("SCAN_CACHE_TABLE", names.table),
        EnvVar("CACHE_TTL_HOURS", "24"),
        EnvVar("SCAN_TIMEOUT", "300"),
        EnvVar("FAIL_ON", fail_on),
        EnvVar("QUALYS_POD", qualys_pod),
        EnvVar("SCANNER", scanner),
        EnvVar("QUALYS_SECRET_ARN", secret_arn),
        EnvVar("QUALYS_ACCESS_TOKEN", f"{secret_arn}:qualys_access_token", "SECRETS_MANAGER"),
        EnvVar("SECURITY_HUB", "off"),  # the template's default
        EnvVar("EVENT_BUS_NAME", "default"),
        EnvVar("DEPLOYSCAN_METRICS", "on"),
        *((EnvVar("INSECURE_REGISTRIES", insecure_registries),) if insecure_registries else ()),
        *extra_env,
    )
    client("codebuild").create_project(
        name=names.project,
        description="deployscan - pull one image and scan it (emulated)",
        source={
            "type": "S3",
            "location": f"{names.artifacts_bucket}/deployscan/runner.zip",
            "buildspec": "buildspecs/scan.yml",
        },
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/amazonlinux-x86_64-standard:5.0",
            "computeType": "BUILD_GENERAL1_SMALL",
            "environmentVariables": [
                {"name": v.name, "value": v.value, "type": v.type} for v in environment
            ],
        },
        serviceRole="arn:aws:iam::123456789012:role/deployscan-scan-build",
    )
    return Stack(names=names, topic_arn=topic_arn, secret_arn=secret_arn, environment=environment)
