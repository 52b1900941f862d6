"""The compute tier of each build, as CodeBuild receives it: the exact StartBuild request (botocore
Stubber) for a small image, a large one, a region without Lambda compute, a registry only a VPC
reaches, and the retry of an image whose Lambda build timed out or failed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from dispatcher import model as m
from dispatcher import tiers as t
from dispatcher.core import DispatchResult, dispatch
from dispatcher.dedup import Memo
from dispatcher.launch import CodeBuildLauncher
from dispatcher.scancache import ScanCacheTable, Verdict, digest_key
from tests.dispatcher.conftest import (
    ACCOUNT,
    D1,
    ECR,
    REGION,
    load_event,
    settings,
    table_items,
)
from tests.dispatcher.fakes import FakeResolver

EC2_PROJECT = "deployscan-scan"
LAMBDA_PROJECT = "deployscan-scan-lambda"
T0 = 1_800_000_000.0
TASK = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/payments/5f1e0c2a9b7d4e61a3c8f0b2d4e6a8c0"
# ecs-task-running.json runs two containers: an ECR image with its digest, and envoy from Docker
# Hub (no digest, no size known).
CHECKOUT = {
    "IMAGE_REF": f"{ECR}/shop/checkout:2.3.1",
    "IMAGE_DIGEST": D1,
    "SOURCE_ACCOUNT": ACCOUNT,
    "SOURCE_REGION": REGION,
    "TRIGGER": "ecs:TaskStateChange",
    "RESOURCE_ARN": TASK,
    "PULL_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/deployscan-read",
}
ENVOY = {
    "IMAGE_REF": "docker.io/envoyproxy/envoy:v1.29.1",
    "SOURCE_ACCOUNT": ACCOUNT,
    "SOURCE_REGION": REGION,
    "TRIGGER": "ecs:TaskStateChange",
    "RESOURCE_ARN": TASK,
}


def start_build(variables: dict[str, str], tier: str) -> dict[str, Any]:
    """The StartBuild request of one image on `tier`: that tier's project, COMPUTE_TIER set."""
    env = {**variables, "COMPUTE_TIER": tier}
    return {
        "projectName": LAMBDA_PROJECT if tier == "lambda" else EC2_PROJECT,
        "environmentVariablesOverride": [
            {"name": k, "value": v, "type": "PLAINTEXT"} for k, v in env.items()
        ],
        "idempotencyToken": ANY,  # carries the lease id, a fresh uuid
    }


def tiered(**changes: Any) -> Any:
    """Settings of a stack with both projects, in a region with Lambda compute, 1 GiB limit."""
    values: dict[str, Any] = {
        "lambda_project_name": LAMBDA_PROJECT,
        "region": REGION,
        "lambda_max_image_mib": 1024,
    }
    values.update(changes)
    return settings(**values)


@contextmanager
def expecting(*requests: dict[str, Any]) -> Iterator[CodeBuildLauncher]:
    """A launcher whose CodeBuild client accepts exactly these StartBuild requests, in order."""
    client = boto3.client("codebuild", region_name=REGION)
    stub = Stubber(client)
    for number, request in enumerate(requests, 1):
        build = {"id": f"{request['projectName']}:b-{number}"}
        stub.add_response("start_build", {"build": build}, request)
    with stub:
        yield CodeBuildLauncher(client)
    stub.assert_no_pending_responses()


def run(
    launcher: CodeBuildLauncher,
    cache: ScanCacheTable,
    *,
    sizes: dict[str, int] | None = None,
    now: float = T0,
    **changes: Any,
) -> DispatchResult:
    return dispatch(
        load_event("ecs-task-running.json"), tiered(**changes), FakeResolver(sizes=sizes),
        cache=cache, launcher=launcher, clock=lambda: now, memo=Memo(),
    )  # fmt: skip


def tiers_of(result: DispatchResult) -> list[tuple[str | None, str | None]]:
    return [(f.get("tier"), f.get("tier_reason")) for f in map(m.tier_fields, result.outcomes)]


def test_a_small_image_in_a_lambda_region_runs_on_lambda(cache: ScanCacheTable) -> None:
    with expecting(start_build(CHECKOUT, "lambda"), start_build(ENVOY, "lambda")) as launcher:
        result = run(launcher, cache, sizes={D1: 300 * t.MIB})
    assert tiers_of(result) == [("lambda", t.DEFAULT), ("lambda", t.DEFAULT)]


def test_a_large_image_runs_on_ec2(cache: ScanCacheTable, dynamodb: Any) -> None:
    with expecting(start_build(CHECKOUT, "ec2"), start_build(ENVOY, "lambda")) as launcher:
        result = run(launcher, cache, sizes={D1: 3 * 1024 * t.MIB})
    assert tiers_of(result) == [("ec2", t.IMAGE_SIZE), ("lambda", t.DEFAULT)]
    # the lease records where each build runs, for the retry rule
    assert table_items(dynamodb)[digest_key(D1)]["compute_tier"] == "ec2"


def test_a_region_without_lambda_compute_runs_everything_on_ec2(cache: ScanCacheTable) -> None:
    with expecting(start_build(CHECKOUT, "ec2"), start_build(ENVOY, "ec2")) as launcher:
        result = run(launcher, cache, sizes={D1: 1}, region="eu-north-1")
    assert tiers_of(result) == [("ec2", t.REGION_WITHOUT_LAMBDA)] * 2


def test_a_stack_without_a_lambda_project_runs_everything_on_ec2(cache: ScanCacheTable) -> None:
    with expecting(start_build(CHECKOUT, "ec2"), start_build(ENVOY, "ec2")) as launcher:
        result = run(launcher, cache, lambda_project_name="")
    assert tiers_of(result) == [("ec2", t.NO_LAMBDA_PROJECT)] * 2


def test_a_registry_only_a_vpc_reaches_runs_on_ec2(cache: ScanCacheTable) -> None:
    with expecting(start_build(CHECKOUT, "lambda"), start_build(ENVOY, "ec2")) as launcher:
        result = run(launcher, cache, vpc_registries=("docker.io",))
    assert tiers_of(result) == [("lambda", t.DEFAULT), ("ec2", t.VPC_REGISTRY)]


def test_an_image_whose_lambda_build_timed_out_is_retried_on_ec2(
    cache: ScanCacheTable, dynamodb: Any
) -> None:
    with expecting(start_build(CHECKOUT, "lambda"), start_build(ENVOY, "lambda")) as launcher:
        run(launcher, cache)
    # Both builds die at Lambda's 15-minute limit and record nothing: while their short lease
    # lasts the images are in progress, then the next deploy takes them over on EC2.
    with expecting() as launcher:
        held = run(launcher, cache, now=T0 + 20 * 60)
    assert [m.decision_line(o)["reason"] for o in held.outcomes] == [m.SCAN_IN_PROGRESS] * 2
    with expecting(start_build(CHECKOUT, "ec2"), start_build(ENVOY, "ec2")) as launcher:
        result = run(launcher, cache, now=T0 + t.LAMBDA_LEASE_SECONDS + 1)
    assert tiers_of(result) == [("ec2", t.LAMBDA_RETRY)] * 2
    assert {item["compute_tier"] for item in table_items(dynamodb).values()} == {"ec2"}


def test_an_image_whose_lambda_scan_recorded_an_error_is_retried_on_ec2(
    cache: ScanCacheTable,
) -> None:
    with expecting(start_build(CHECKOUT, "lambda"), start_build(ENVOY, "lambda")) as launcher:
        run(launcher, cache)
    # The runner stopped the scan at LAMBDA_SCAN_SECONDS and recorded the error with its tier.
    error = Verdict("error", CHECKOUT["IMAGE_REF"], "b-1", compute_tier="lambda")
    cache.record(digest_key(D1), error, now=T0 + 700, keep_seconds=0)
    passed = Verdict("passed", ENVOY["IMAGE_REF"], "b-2", compute_tier="lambda")
    cache.record("ref#docker.io/envoyproxy/envoy:v1.29.1", passed, now=T0 + 700, keep_seconds=60)
    with expecting(start_build(CHECKOUT, "ec2"), start_build(ENVOY, "lambda")) as launcher:
        result = run(launcher, cache, now=T0 + 800)  # envoy's result has expired: a rescan
    assert tiers_of(result) == [("ec2", t.LAMBDA_RETRY), ("lambda", t.DEFAULT)]


def test_an_error_on_ec2_is_retried_by_the_ordinary_rules(cache: ScanCacheTable) -> None:
    large = {D1: 3 * 1024 * t.MIB}
    with expecting(start_build(CHECKOUT, "ec2"), start_build(ENVOY, "lambda")) as launcher:
        run(launcher, cache, sizes=large)
    error = Verdict("error", CHECKOUT["IMAGE_REF"], "b-1", compute_tier="ec2")
    cache.record(digest_key(D1), error, now=T0 + 60, keep_seconds=0)
    with expecting(start_build(CHECKOUT, "lambda")) as launcher:
        result = run(launcher, cache, now=T0 + 61)  # the size is unknown this time
    assert tiers_of(result) == [("lambda", t.DEFAULT), (None, None)]  # envoy: in progress


@pytest.mark.parametrize("default", ["lambda", "ec2"])
def test_the_size_is_asked_only_when_it_can_change_the_tier(
    cache: ScanCacheTable, default: str
) -> None:
    resolver = FakeResolver(sizes={D1: 1})
    tier = "lambda" if default == "lambda" else "ec2"
    with expecting(start_build(CHECKOUT, tier), start_build(ENVOY, tier)) as launcher:
        dispatch(
            load_event("ecs-task-running.json"), tiered(default_compute_tier=default), resolver,
            cache=cache, launcher=launcher, clock=lambda: T0, memo=Memo(),
        )  # fmt: skip
    # only the ECR image has a size to ask for, and only while Lambda is still possible
    assert resolver.calls["ecr:DescribeImages"] == (1 if default == "lambda" else 0)
