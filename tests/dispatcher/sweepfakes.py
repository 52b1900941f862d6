"""What the sweep tests build on: a moto world of running tasks and image functions, and the
fields moto leaves out (containers' `imageDigest`), added from the test's own fixture table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import boto3

from dispatcher.errors import LookupFailed
from dispatcher.sweep.messages import Unit
from scanner_runner.devtools.demo.sweep import EcsWithDigests

HOME = "123456789012"  # moto's default account
MEMBER = "210987654321"
REGION = "eu-central-1"
ROLE = "deployscan-scan-access"


class MotoUnits:
    """`UnitClients` over moto: each account through its own moto credentials (moto keeps one
    world per account), containers given digests by `EcsWithDigests`."""

    def __init__(self, digests: Mapping[str, str], missing: frozenset[str] = frozenset()) -> None:
        self.digests, self.missing = digests, missing
        self.entered: list[Unit] = []

    def clients(self, unit: Unit) -> tuple[Any, Any]:
        if unit.account in self.missing:
            raise LookupFailed(f"sts:AssumeRole {unit.account} failed: AccessDenied",
                               retryable=False)  # fmt: skip
        self.entered.append(unit)
        session = session_of(unit.account)
        return (EcsWithDigests(session.client("ecs", region_name=unit.region), self.digests),
                session.client("lambda", region_name=unit.region))  # fmt: skip


def session_of(account: str) -> Any:
    """A boto3 session acting in `account` (moto: assumed-role credentials of that account)."""
    if account == HOME:
        return boto3.session.Session(region_name=REGION)
    sts = boto3.client("sts", region_name=REGION)
    arn = f"arn:aws:iam::{account}:role/{ROLE}"
    creds = sts.assume_role(RoleArn=arn, RoleSessionName="tests")["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=REGION,
    )


def run_tasks(account: str, cluster: str, group: str, image: str, count: int) -> list[str]:
    """Start `count` tasks of a one-container task definition running `image`; their ARNs."""
    ecs = session_of(account).client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName=cluster)
    family = group.split(":", 1)[-1]
    ecs.register_task_definition(
        family=family, containerDefinitions=[{"name": family, "image": image, "memory": 128}]
    )
    tasks = ecs.run_task(cluster=cluster, taskDefinition=family, count=count,
                         launchType="FARGATE", group=group)["tasks"]  # fmt: skip
    return [t["taskArn"] for t in tasks]


def stop_tasks(account: str, cluster: str, arns: list[str]) -> None:
    """Stop tasks (moto then lists them no more as RUNNING)."""
    ecs = session_of(account).client("ecs", region_name=REGION)
    for arn in arns:
        ecs.stop_task(cluster=cluster, task=arn)


def image_function(account: str, name: str, image: str) -> str:
    """An image function (moto answers GetFunction with a ResolvedImageUri); its digest."""
    session = session_of(account)
    iam = session.client("iam")
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = session.client("lambda", region_name=REGION)
    lam.create_function(FunctionName=name, Role=role, PackageType="Image", Code={"ImageUri": image})
    resolved = lam.get_function(FunctionName=name)["Code"]["ResolvedImageUri"]
    return str(resolved.rpartition("@")[2])
