"""The deploy gate's own cost: one ECS hook invocation for a service revision of 10 containers
whose verdicts are cached, and one CloudFormation hook invocation for a task definition of the
same 10 images.

AWS is stubbed by in-process clients that answer at once from prepared data (items written by
the real scan-cache code into moto, read back once), so the time measured is our own code:
payload parsing, the revision's images, the verdict core, the answer. Every call AWS would bill
is counted.

    .venv/bin/python benchmarks/gate_bench.py [--invocations N]

Goals: <= 50 ms of our own code per invocation, <= 2 AWS calls per invocation.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dispatcher.gate import cfn_hook, ecs_hook
from dispatcher.gate.core import Starter
from dispatcher.gate.runtime import AllowList, HookRuntime
from dispatcher.gate.settings import GateSettings
from dispatcher.imageref import ImageRef
from dispatcher.scancache import ScanCacheTable, cache_key
from dispatcher.scancache.gatereads import GateCacheTable
from dispatcher.scanitems import Verdict
from dispatcher.settings import Settings
from tests.dispatcher.conftest import create_table

ACCOUNT, REGION, TABLE = "210987654321", "eu-central-1", "deployscan-scan-cache"
ECR = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
REVISION = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/prod/web/7000000000000000001"
IMAGES = [f"{ECR}/web/c{n}:1.0@sha256:{n + 1:064x}" for n in range(10)]
calls: Counter[str] = Counter()


class StaticDynamoDB:
    """BatchGetItem/GetItem answered from prepared items; every call counted."""

    def __init__(self, items: dict[str, dict[str, Any]]) -> None:
        self.items = items

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        calls["dynamodb:BatchGetItem"] += 1
        [(table, request)] = RequestItems.items()
        found = [self.items[k["pk"]["S"]] for k in request["Keys"] if k["pk"]["S"] in self.items]
        return {"Responses": {table: found}, "UnprocessedKeys": {}}

    def get_item(self, **request: Any) -> dict[str, Any]:
        calls["dynamodb:GetItem"] += 1
        key = request["Key"]["pk"]["S"]
        return {"Item": self.items[key]} if key in self.items else {}


class StaticEcs:
    """DescribeServiceRevisions answered with the 10-container revision; counted."""

    def describe_service_revisions(self, serviceRevisionArns: list[str]) -> dict[str, Any]:
        calls["ecs:DescribeServiceRevisions"] += 1
        containers = []
        for n, text in enumerate(IMAGES):
            image, _, digest = text.partition("@")
            containers.append({"containerName": f"c{n}", "image": image, "imageDigest": digest})
        return {
            "serviceRevisions": [{"serviceRevisionArn": REVISION, "containerImages": containers}]
        }


class Session:
    """The hook's own session: its clients are the static ones; anything else is a failure."""

    def __init__(self, clients: dict[str, Any]) -> None:
        self.clients = clients

    def client(self, service: str, region_name: str | None = None, **_: Any) -> Any:
        return self.clients[service]


class RefusingLauncher:
    """No build may start when every verdict is cached."""

    def start(self, request: Any) -> str:
        raise AssertionError("a build was started for a cached verdict")


def cached_items() -> dict[str, dict[str, Any]]:
    """The 10 passed verdicts as the real scan-cache code writes them (into moto, read back)."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_table(client)
        table, now = ScanCacheTable(client, TABLE), time.time()
        for text in IMAGES:
            verdict = Verdict("passed", text, "deployscan-scan:b", "s3://r/report.json", {"low": 1})
            table.record(cache_key(ImageRef.parse(text)), verdict, now=now, keep_seconds=86400)
        return {item["pk"]["S"]: item for item in client.scan(TableName=TABLE)["Items"]}


def runtime(items: dict[str, dict[str, Any]]) -> HookRuntime:
    """The runtime `runtime.from_env` would build, over the static clients."""
    settings = Settings(project_name="deployscan-scan", cache_table=TABLE, region=REGION)
    return HookRuntime(
        gate=GateSettings(mode="enforce", scanner="qscanner"),
        cache=GateCacheTable(StaticDynamoDB(items), TABLE),
        starter=Starter(settings, RefusingLauncher()),
        session=Session({"ecs": StaticEcs()}),
        allow_list=AllowList("", lambda _: ()),
        home_account=ACCOUNT,
    )


def measure(name: str, invoke: Any, count: int, expect: str) -> dict[str, float]:
    """Run `invoke` `count` times: per-invocation ms (median, p95) and AWS calls."""
    calls.clear()
    times = []
    for _ in range(count):
        start = time.perf_counter()
        status = invoke()
        times.append((time.perf_counter() - start) * 1000)
        if status != expect:
            raise SystemExit(f"{name}: answered {status}, expected {expect}")
    times.sort()
    return {
        "median_ms": statistics.median(times),
        "p95_ms": times[int(len(times) * 0.95) - 1],
        "aws_calls_per_invocation": sum(calls.values()) / count,
    }


def main() -> int:
    """Measure both hooks and print their figures against the goals."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invocations", type=int, default=500)
    count = parser.parse_args().invocations
    run = runtime(cached_items())
    ecs_event = {
        "executionId": "bench", "lifecycleStage": "PRE_SCALE_UP",
        "executionDetails": {"serviceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/prod/web",
                             "targetServiceRevisionArn": REVISION},
        "hookDetails": {},
    }  # fmt: skip
    cfn_event = {
        "clientRequestToken": "bench", "awsAccountId": ACCOUNT,
        "requestData": {"targetType": "AWS::ECS::TaskDefinition", "targetModel": {
            "resourceProperties": {"ContainerDefinitions": [{"Image": i} for i in IMAGES]}}},
        "requestContext": {"invocation": 1},
    }  # fmt: skip
    results = {
        "ecs-hook": measure(
            "ecs-hook", lambda: ecs_hook.answer(ecs_event, run)["hookStatus"], count, "SUCCEEDED"
        ),
        "cfn-hook": measure(
            "cfn-hook", lambda: cfn_hook.answer(cfn_event, run)["hookStatus"], count, "SUCCESS"
        ),
    }
    ok = True
    print(f"gate_bench: {count} invocations each, {len(IMAGES)} containers, verdicts cached")
    for name, figures in results.items():
        good = figures["median_ms"] <= 50 and figures["aws_calls_per_invocation"] <= 2
        ok &= good
        print(
            f"  {name:9} own time median {figures['median_ms']:.2f} ms,"
            f" p95 {figures['p95_ms']:.2f} ms (goal <= 50 ms);"
            f" AWS calls per invocation {figures['aws_calls_per_invocation']:.2f}"
            f" (goal <= 2) {'ok' if good else 'MISSED'}"
        )
    print(
        "  (to decide; with EVENT_BUS_NAME set the final answer adds one events:PutEvents,"
        " up to 10 images per call, for its Gate Decision events)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
