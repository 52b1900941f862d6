"""The workloads a digest runs as, by ARN, from the sweep's in-use index: an ECS service (a place
named `<cluster>/service:<name>`) or a Lambda function (a place named by the function).

Tasks started outside a service (a `family:<name>` group) have no lasting ARN to name and are
left out; so is any account, region or name that is not a valid AWS one (the index is data).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from dispatcher.aws import partition
from dispatcher.buildvars import ACCOUNT_RE, LAMBDA_ARN_RE, REGION_RE
from dispatcher.scanitems import InUseEntry, Place

# What an ARN names, by its service and resource markers: (ASFF resource type, label for people).
_KINDS = (
    (":ecs:", ":task/", "AwsEcsTask", "ECS task"),
    (":ecs:", ":service/", "AwsEcsService", "ECS service"),
    (":ecs:", ":task-definition/", "AwsEcsTaskDefinition", "ECS task definition"),
    (":lambda:", ":function:", "AwsLambdaFunction", "Lambda function"),
)
_ECS_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")  # clusters and services alike
_FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def workload_kind(arn: str) -> tuple[str, str] | None:
    """(ASFF resource type, label) of the workload an ARN names; None for anything else."""
    return next(((t, label) for svc, mark, t, label in _KINDS if svc in arn and mark in arn), None)


def workload_arns(entries: Iterable[InUseEntry]) -> tuple[str, ...]:
    """ARNs of the ECS services and Lambda functions the entries name, sorted, each once."""
    found: set[str] = set()
    for entry in entries:
        if ACCOUNT_RE.match(entry.account) and REGION_RE.match(entry.region):
            found.update(_arn(p, entry.account, entry.region) for p in entry.places)
    found.discard("")
    return tuple(sorted(found))


def _arn(place: Place, account: str, region: str) -> str:
    if place.kind == "ecs":
        cluster, _, group = place.name.partition("/")
        kind, _, service = group.partition(":")
        if kind == "service" and _ECS_NAME.match(cluster) and _ECS_NAME.match(service):
            return f"arn:{partition(region)}:ecs:{region}:{account}:service/{cluster}/{service}"
        return ""
    if place.kind == "lambda":
        if _FUNCTION_NAME.match(place.name):
            return f"arn:{partition(region)}:lambda:{region}:{account}:function:{place.name}"
        if LAMBDA_ARN_RE.match(place.name):  # the sweep names a function by ARN when unnamed
            return place.name
    return ""
