"""The executor: leases, launch failures, and the no-loss property across SQS redeliveries."""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

import boto3
from botocore.stub import Stubber

from dispatcher import model as m
from dispatcher.buildvars import BuildRequest
from dispatcher.core import dispatch
from dispatcher.dedup import Memo
from dispatcher.errors import LaunchError
from dispatcher.resolve import OfflineResolver
from dispatcher.scancache import ScanCacheTable
from tests.dispatcher.conftest import (
    D1,
    REGION,
    TABLE,
    CountingClient,
    RecordingLauncher,
    load_event,
    settings,
    table_items,
)


def _run(raw: Any, cache: Any, launcher: Any, memo: Memo | None = None) -> Any:
    return dispatch(
        raw, settings(), OfflineResolver(), cache=cache, launcher=launcher, clock=lambda: 1e9,
        memo=memo if memo is not None else Memo(),
    )  # fmt: skip


def test_started_builds_carry_their_lease_in_the_idempotency_token(
    cache: ScanCacheTable, dynamodb: Any
) -> None:
    launcher = RecordingLauncher()
    result = _run(load_event("ecs-task-running.json"), cache, launcher)
    assert [m.decision_line(o)["reason"] for o in result.outcomes] == [m.STARTED, m.STARTED]
    leases = {item["lease_id"] for item in table_items(dynamodb).values()}
    assert {r.lease_id for r in launcher.requests} == leases
    assert all(item["build_id"] for item in table_items(dynamodb).values())
    assert result.batch_item_failures() == []


def test_a_throttled_launch_releases_the_lease_and_fails_the_record(
    cache: ScanCacheTable, dynamodb: Any
) -> None:
    launcher = RecordingLauncher()
    launcher.throttle(1)
    result = _run(load_event("sqs-batch.json"), cache, launcher)
    reasons = [m.decision_line(o)["reason"] for o in result.outcomes]
    assert reasons == [m.LAUNCH_THROTTLED, m.STARTED, m.UNREADABLE_RECORD, m.NEEDS_LOOKUP]
    assert result.batch_item_failures() == [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}]
    assert list(table_items(dynamodb)) == ["ref#docker.io/envoyproxy/envoy:v1.29.1"]  # released


def test_memo_answers_without_calls_inside_one_process(
    cache: ScanCacheTable, counting: CountingClient
) -> None:
    launcher, memo = RecordingLauncher(), Memo()
    _run(load_event("ecs-task-running.json"), cache, launcher, memo)
    calls = counting.calls
    assert calls == 4  # a lease and a build id per image
    result = _run(load_event("ecs-task-running.json"), cache, launcher, memo)
    assert counting.calls == calls
    assert {o.reason for o in result.outcomes} == {m.SCAN_IN_PROGRESS}
    assert len(launcher.requests) == 2


def test_an_unavailable_table_retries_instead_of_building_unguarded(dynamodb: Any) -> None:
    launcher = RecordingLauncher()
    with Stubber(dynamodb) as stub:
        for _ in range(2):
            stub.add_client_error("put_item", "ProvisionedThroughputExceededException")
        result = _run(
            load_event("ecs-task-running.json"), ScanCacheTable(dynamodb, TABLE), launcher
        )
    assert {o.reason for o in result.outcomes} == {m.DEDUP_UNAVAILABLE}
    assert "ProvisionedThroughputExceededException" in result.outcomes[0].detail
    assert result.batch_item_failures() == [{"itemIdentifier": "6a0f3d9e-0001"}]
    assert launcher.requests == []


class FailingLauncher:
    def start(self, request: BuildRequest) -> str:
        raise LaunchError("StartBuild failed: ResourceNotFoundException")


def test_a_failed_launch_is_not_throttling_but_still_retried(
    cache: ScanCacheTable, dynamodb: Any
) -> None:
    result = _run(load_event("ecs-task-running.json"), cache, FailingLauncher())
    assert {o.reason for o in result.outcomes} == {m.LAUNCH_FAILED}
    assert all(o.retry for o in result.outcomes)
    assert table_items(dynamodb) == {}


def _sqs_event(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Records": [
            {"messageId": msg["MessageId"], "receiptHandle": msg["ReceiptHandle"],
             "body": msg["Body"], "eventSource": "aws:sqs"}
            for msg in messages
        ]
    }  # fmt: skip


def test_no_loss_under_throttling_across_redeliveries(dynamodb: Any) -> None:
    """A third of StartBuild calls throttle; SQS redelivers; each image launches exactly once."""
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="deployscan-events", Attributes={"VisibilityTimeout": "0"})
    url = queue["QueueUrl"]
    rng = random.Random(7)
    template = load_event("ecs-task-running.json")
    images = set()
    for _ in range(120):
        event = json.loads(json.dumps(template))
        unique = rng.randrange(25)  # 25 unique images, each deployed several times
        digest = f"sha256:{unique:064x}"
        event["detail"]["containers"] = [
            {"name": "app", "image": f"shop/app-{unique}:1", "imageDigest": digest}
        ]
        images.add(f"docker.io/shop/app-{unique}:1")
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))

    class FlakyLauncher(RecordingLauncher):
        def start(self, request: BuildRequest) -> str:
            if rng.random() < 0.35:
                self.attempts += 1
                raise LaunchError("AccountLimitExceededException", throttled=True)
            return super().start(request)

    launcher = FlakyLauncher()
    cache = ScanCacheTable(dynamodb, TABLE)
    deliveries: Counter[str] = Counter()
    for _ in range(200):
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            break
        for msg in got:
            deliveries[msg["MessageId"]] += 1
        result = dispatch(_sqs_event(got), settings(), OfflineResolver(), cache=cache,
                          launcher=launcher, memo=Memo())  # fmt: skip
        failed = {f["itemIdentifier"] for f in result.batch_item_failures()}
        for msg in got:
            if msg["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
    left = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert left["Attributes"]["ApproximateNumberOfMessages"] == "0"
    launched = Counter(str(r.image) for r in launcher.requests)
    assert set(launched) == images
    assert set(launched.values()) == {1}
    assert launcher.attempts > len(images)  # throttling really happened
    assert max(deliveries.values()) > 1  # and messages really came back


class CrashingLauncher:
    def start(self, request: BuildRequest) -> str:
        raise OSError("the local executor's work directory vanished")


def test_any_launcher_failure_releases_the_lease_and_retries_the_record(
    cache: ScanCacheTable, dynamodb: Any
) -> None:
    result = _run(load_event("sqs-batch.json"), cache, CrashingLauncher())
    reasons = [m.decision_line(o)["reason"] for o in result.outcomes]
    assert reasons == [m.LAUNCH_FAILED, m.LAUNCH_FAILED, m.UNREADABLE_RECORD, m.NEEDS_LOOKUP]
    assert "OSError" in result.outcomes[0].detail
    assert table_items(dynamodb) == {}
    assert result.batch_item_failures() == [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}]


def test_a_lease_whose_dispatcher_died_before_start_build_is_retried_then_taken_over(
    cache: ScanCacheTable, dynamodb: Any
) -> None:
    """A lease without a build id is not a build: its events come back instead of being dropped."""
    launcher = RecordingLauncher()
    event = load_event("ecs-task-running.json")
    event["detail"]["containers"] = event["detail"]["containers"][:1]
    key = f"digest#{D1}"
    cache.acquire(key, image="crashed", lease_id="dead", now=1e9 - 10, seconds=900, ttl=86400)
    (outcome,) = _run(event, cache, launcher).outcomes
    assert (outcome.reason, outcome.retry) == (m.SCAN_IN_PROGRESS, True)
    assert launcher.requests == []
    later = dispatch(event, settings(), OfflineResolver(), cache=cache, launcher=launcher,
                     clock=lambda: 1e9 + 900, memo=Memo())  # fmt: skip
    assert [m.decision_line(o)["reason"] for o in later.outcomes] == [m.STARTED]
    assert int(table_items(dynamodb)[key]["expires_at"]) == 1e9 + 900 + settings().lease_seconds
