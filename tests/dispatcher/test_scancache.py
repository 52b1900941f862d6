"""The scan-cache table (moto DynamoDB): lease takeover rules, lease identity, release,
verdicts and lookups, concurrency."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3

from dispatcher import model as m
from dispatcher.core import dispatch
from dispatcher.dedup import Memo
from dispatcher.imageref import ImageRef
from dispatcher.resolve import OfflineResolver
from dispatcher.scancache import Held, ScanCacheTable, cache_key
from tests.dispatcher.conftest import ECR, REGION, TABLE, RecordingLauncher, load_event, settings

KEY = cache_key(ImageRef.parse("nginx@sha256:" + "3c" * 32))
NOW = 1_800_000_000


def _take(cache: ScanCacheTable, lease: str, now: float = NOW, ttl: int = 86400) -> Held | None:
    return cache.acquire(KEY, image="nginx", lease_id=lease, now=now, seconds=600, ttl=ttl)


def _item(client: Any) -> dict[str, Any]:
    return client.get_item(TableName=TABLE, Key={"pk": {"S": KEY}}).get("Item", {})


def _complete(client: Any, status: str, completed: int, expires: int) -> None:
    """What the runner writes when its scan ends."""
    client.put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": KEY},
            "status": {"S": status},
            "completed_at": {"N": str(completed)},
            "expires_at": {"N": str(expires)},
            "build_id": {"S": "deployscan-scan:1"},
        },
    )


def test_first_acquire_wins_and_writes_the_lease(dynamodb: Any) -> None:
    cache = ScanCacheTable(dynamodb, TABLE)
    assert _take(cache, "L1") is None
    item = _item(dynamodb)
    assert item["status"]["S"] == "in-flight"
    assert item["lease_id"]["S"] == "L1"
    assert item["expires_at"]["N"] == item["lease_expires_at"]["N"] == str(NOW + 600)
    # no build id yet: the holder may have died before StartBuild, so the caller retries
    assert _take(cache, "L2", NOW + 599) == Held(KEY, completed=False, settled=False)


def test_a_started_build_settles_and_extends_its_lease(dynamodb: Any) -> None:
    cache = ScanCacheTable(dynamodb, TABLE)
    assert _take(cache, "L1") is None
    cache.started(KEY, "L1", "deployscan-scan:3", NOW + 1, 5400)
    item = _item(dynamodb)
    assert item["expires_at"]["N"] == item["lease_expires_at"]["N"] == str(NOW + 5401)
    assert _take(cache, "L2", NOW + 5000) == Held(KEY, completed=False, settled=True)
    assert _take(cache, "L2", NOW + 5402) is None


def test_an_expired_lease_can_be_taken_over(dynamodb: Any) -> None:
    cache = ScanCacheTable(dynamodb, TABLE)
    assert _take(cache, "L1") is None
    assert _take(cache, "L2", NOW + 601) is None
    assert _item(dynamodb)["lease_id"]["S"] == "L2"


def test_a_completed_scan_suppresses_until_it_expires(dynamodb: Any) -> None:
    cache = ScanCacheTable(dynamodb, TABLE)
    _complete(dynamodb, "passed", NOW, NOW + 86400)
    assert _take(cache, "L1", NOW + 3600) == Held(KEY, completed=True)
    _complete(dynamodb, "failed", NOW, NOW + 86400)
    assert _take(cache, "L1", NOW + 3600) == Held(KEY, completed=True)
    assert _take(cache, "L1", NOW + 86401) is None


def test_a_shorter_dispatcher_ttl_wins(dynamodb: Any) -> None:
    cache = ScanCacheTable(dynamodb, TABLE)
    _complete(dynamodb, "passed", NOW, NOW + 86400)
    assert _take(cache, "L1", NOW + 7201, ttl=7200) is None


def test_an_error_is_always_retaken(dynamodb: Any) -> None:
    cache = ScanCacheTable(dynamodb, TABLE)
    _complete(dynamodb, "error", NOW, NOW + 86400)
    assert _take(cache, "L1", NOW + 1) is None


def test_release_deletes_only_our_own_in_flight_lease(dynamodb: Any) -> None:
    cache = ScanCacheTable(dynamodb, TABLE)
    assert _take(cache, "L1") is None
    cache.release(KEY, "someone-else")
    assert _item(dynamodb)["lease_id"]["S"] == "L1"
    cache.started(KEY, "L1", "deployscan-scan:7", NOW + 1, 600)
    assert _item(dynamodb)["build_id"]["S"] == "deployscan-scan:7"
    cache.release(KEY, "L1")
    assert _item(dynamodb) == {}


def test_release_leaves_a_runner_result_alone(dynamodb: Any) -> None:
    cache = ScanCacheTable(dynamodb, TABLE)
    assert _take(cache, "L1") is None
    _complete(dynamodb, "passed", NOW + 5, NOW + 86400)
    cache.started(KEY, "L1", "late", NOW + 6, 600)
    cache.release(KEY, "L1")
    item = _item(dynamodb)
    assert item["status"]["S"] == "passed"
    assert item["build_id"]["S"] == "deployscan-scan:1"


def test_memo_forgets_after_its_window() -> None:
    memo = Memo(seconds=60)
    memo.put("k", m.SCAN_IN_PROGRESS, 100.0)
    assert memo.get("k", 159.0) == m.SCAN_IN_PROGRESS
    assert memo.get("k", 161.0) is None


def test_many_identical_events_at_once_start_exactly_one_build(dynamodb: Any) -> None:
    """16 concurrent 'Lambdas' (own memo, own client) race on the conditional put.

    DynamoDB evaluates a condition and writes atomically; moto in process checks then writes in
    Python, so two threads can both pass. One lock per request (held from before-call to
    after-call, around moto's handler) gives moto the service's atomicity, nothing more.
    """
    launcher = RecordingLauncher()
    event = load_event("ecs-task-running.json")
    barrier = threading.Barrier(16)
    atomic = threading.Lock()

    def one_invocation(_: int) -> list[str]:
        client = boto3.client("dynamodb", region_name=REGION)
        client.meta.events.register("before-call.dynamodb.*", _locking(atomic.acquire))
        client.meta.events.register("after-call.dynamodb.*", _locking(atomic.release))
        barrier.wait()
        result = dispatch(
            event,
            settings(),
            OfflineResolver(),
            cache=ScanCacheTable(client, TABLE),
            launcher=launcher,
            memo=Memo(),
        )
        return [m.decision_line(o)["reason"] for o in result.outcomes]

    with ThreadPoolExecutor(16) as pool:
        reasons = [r for rs in pool.map(one_invocation, range(16)) for r in rs]
    images = sorted(str(r.image) for r in launcher.requests)
    assert images == [f"{ECR}/shop/checkout:2.3.1", "docker.io/envoyproxy/envoy:v1.29.1"]
    assert reasons.count(m.STARTED) == 2
    assert reasons.count(m.SCAN_IN_PROGRESS) == 30


def _locking(action: Any) -> Any:
    def hook(**_: Any) -> None:  # a before-call hook returning a value would replace the call
        action()

    return hook
