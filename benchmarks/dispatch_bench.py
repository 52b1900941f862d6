"""Dispatcher throughput and AWS-call economy on a duplicate-heavy mix of deploy events.

10,000 events as a busy cluster produces them (mostly RUNNING task-state changes of a few images,
plus CloudTrail deploy calls that need lookups) go through the planner and the executor in SQS
batches of 10, against the scan-cache table in moto (the real conditional-write semantics) and a
resolver fake that answers like ECS/Lambda/ECR; both count every call AWS would bill.

    .venv/bin/python benchmarks/dispatch_bench.py [--events N] [--seed S]

Goals: >= 5,000 events/s for planning, <= 1.1 AWS calls per event.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dispatcher.buildvars import BuildRequest
from dispatcher.core import dispatch
from dispatcher.dedup import Memo
from dispatcher.envelope import read_records
from dispatcher.plan import plan
from dispatcher.scancache import ScanCacheTable
from dispatcher.settings import Settings
from tests.dispatcher.conftest import create_table
from tests.dispatcher.fakes import CountingClient, FakeResolver, task_definition

ACCOUNT, REGION = "210987654321", "eu-central-1"
ECR = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
UNIQUE_IMAGES = 40
BATCH = 10


class CountingLauncher:
    """Starts nothing, counts StartBuild calls."""

    def __init__(self) -> None:
        self.calls = 0

    def start(self, request: BuildRequest) -> str:
        self.calls += 1
        return f"scan:{self.calls}"


def _task_event(n: int, image: int) -> dict[str, Any]:
    task = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/prod/{n:032x}"
    return {
        "version": "0", "id": f"t-{n}", "detail-type": "ECS Task State Change",
        "source": "aws.ecs", "account": ACCOUNT, "region": REGION, "resources": [task],
        "detail": {
            "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/prod", "taskArn": task,
            "taskDefinitionArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/app{image}:1",
            "lastStatus": "RUNNING", "desiredStatus": "RUNNING", "version": 2,
            "containers": [
                {"name": "app", "image": f"{ECR}/shop/app{image}:1",
                 "imageDigest": f"sha256:{image:064x}"},
                {"name": "envoy", "image": "envoyproxy/envoy:v1.29.1"},
            ],
        },
    }  # fmt: skip


def _service_event(n: int, image: int) -> dict[str, Any]:
    td = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/app{image}:1"
    return {
        "version": "0", "id": f"s-{n}", "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.ecs", "account": ACCOUNT, "region": REGION, "resources": [],
        "detail": {
            "eventSource": "ecs.amazonaws.com", "eventName": "UpdateService",
            "awsRegion": REGION, "recipientAccountId": ACCOUNT,
            "requestParameters": {"cluster": "prod", "service": f"app{image}",
                                  "taskDefinition": f"app{image}:1"},
            "responseElements": {"service": {"taskDefinition": td}},
        },
    }  # fmt: skip


def _other_event(n: int) -> dict[str, Any]:
    return {"version": "0", "id": f"o-{n}", "detail-type": "ECS Task State Change",
            "source": "aws.ecs", "account": ACCOUNT, "region": REGION,
            "detail": {"lastStatus": "STOPPED", "containers": []}}  # fmt: skip


def make_events(count: int, seed: int) -> list[dict[str, Any]]:
    """80 % task changes of a few images, 10 % service updates, 10 % noise."""
    rng = random.Random(seed)
    events = []
    for n in range(count):
        image = min(int(rng.expovariate(0.15)), UNIQUE_IMAGES - 1)  # a few images dominate
        roll = rng.random()
        if roll < 0.8:
            events.append(_task_event(n, image))
        elif roll < 0.9:
            events.append(_service_event(n, image))
        else:
            events.append(_other_event(n))
    return events


_TASK_DEFINITIONS = {
    arn: task_definition(arn, f"{ECR}/shop/app{i}:1", "envoyproxy/envoy:v1.29.1")
    for i in range(UNIQUE_IMAGES)
    for arn in [f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/app{i}:1"]
}
_DIGESTS = {f"{ECR}/shop/app{i}:1": f"sha256:{i:064x}" for i in range(UNIQUE_IMAGES)}


def _resolver() -> FakeResolver:
    """A fresh resolver per invocation: its lookup caches start empty, as in Lambda."""
    return FakeResolver(task_definitions=_TASK_DEFINITIONS, digests=_DIGESTS, home=ACCOUNT)


def _sqs(batch: list[dict[str, Any]], start: int) -> dict[str, Any]:
    return {"Records": [{"messageId": f"m-{start + i}", "body": json.dumps(e)}
                        for i, e in enumerate(batch)]}  # fmt: skip


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20260302)
    args = parser.parse_args()
    events = make_events(args.events, args.seed)
    settings = Settings(project_name="deployscan-scan", cache_table="scan-cache")
    batches = [_sqs(events[i : i + BATCH], i) for i in range(0, len(events), BATCH)]

    # 1. planning alone, per SQS batch, a fresh resolver cache per invocation (as in Lambda)
    began = time.perf_counter()
    planned = 0
    for raw in batches:
        planned += len(plan(read_records(raw), settings, _resolver()))
    plan_seconds = time.perf_counter() - began

    # 2. plan + execute, batch by batch, one warm process (memo kept, resolver per invocation)
    table = _table("us-east-1")
    cache, launcher, memo = ScanCacheTable(table, "scan-cache"), CountingLauncher(), Memo()
    lookups: Counter[str] = Counter()
    clock = iter(range(10**9))
    began = time.perf_counter()
    outcomes: Counter[str] = Counter()
    for raw in batches:
        resolver = _resolver()
        result = dispatch(raw, settings, resolver, cache=cache, launcher=launcher,
                          clock=lambda: 1e9 + next(clock) / 1000, memo=memo)  # fmt: skip
        lookups.update(resolver.calls)
        for record in result.records:
            outcomes.update(getattr(o, "reason", "started") for o in record.outcomes)
    total_seconds = time.perf_counter() - began

    # 3. the pessimistic case: every batch lands on a cold Lambda (no memo carried over)
    cold_table = _table("us-west-2")
    cold_cache = ScanCacheTable(cold_table, "scan-cache")
    cold_launcher, cold_lookups = CountingLauncher(), 0
    for raw in batches:
        resolver = _resolver()
        dispatch(raw, settings, resolver, cache=cold_cache, launcher=cold_launcher,
                 clock=lambda: 1e9, memo=Memo())  # fmt: skip
        cold_lookups += sum(resolver.calls.values())
    cold_calls = cold_lookups + cold_table.calls + cold_launcher.calls

    aws_calls = sum(lookups.values()) + table.calls + launcher.calls
    print(f"events:                    {len(events)} in {len(batches)} SQS batches of {BATCH}")
    print(f"decisions planned:         {planned}")
    print(f"planning:                  {len(events) / plan_seconds:,.0f} events/s (goal >= 5,000)")
    print(f"plan + execute:            {len(events) / total_seconds:,.0f} events/s")
    print(f"AWS calls:                 {aws_calls} = lookups {dict(lookups)} + dynamodb "
          f"{table.calls} + codebuild:StartBuild {launcher.calls}")  # fmt: skip
    print(f"AWS calls per event:       {aws_calls / len(events):.3f} (goal <= 1.1)")
    print(f"  every batch cold:        {cold_calls / len(events):.3f} "
          f"({cold_launcher.calls} builds started)")  # fmt: skip
    print(f"builds started:            {launcher.calls} (unique images: {UNIQUE_IMAGES + 1} max)")
    print(f"outcomes:                  {dict(outcomes.most_common())}")


def _table(region: str) -> CountingClient:
    """A fresh scan-cache table in moto (the real conditional-write semantics), counting calls."""
    client = boto3.client("dynamodb", region_name=region)
    create_table(client, "scan-cache")
    return CountingClient(client)


if __name__ == "__main__":
    with mock_aws():
        main()
