"""The scan-cache table (moto DynamoDB): lease takeover rules, lease identity, release,
verdicts and lookups, concurrency."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from dispatcher import model as m
from dispatcher.core import dispatch
from dispatcher.dedup import Memo
from dispatcher.errors import CacheError
from dispatcher.imageref import ImageRef
from dispatcher.resolve import OfflineResolver
from dispatcher.scancache import Held, Replaced, ScanCacheTable, Taken, Verdict, cache_key
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


class LostAnswer:
    """A client whose first PutItem commits but whose answer is lost, so botocore retries it:
    the retry then meets the item its own first attempt wrote."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def put_item(self, **request: Any) -> Any:
        self.client.put_item(**request)  # committed; the response never arrives
        return self.client.put_item(**request)  # the retry


def test_a_retried_put_recognises_its_own_lease(dynamodb: Any) -> None:
    cache = ScanCacheTable(LostAnswer(dynamodb), TABLE)
    assert _take(cache, "L1") is None  # ours, not "scan-in-progress"
    assert _item(dynamodb)["lease_id"]["S"] == "L1"
    # someone else's lease is still someone else's
    assert _take(ScanCacheTable(dynamodb, TABLE), "L2") == Held(KEY, completed=False, settled=False)


def test_an_executor_behind_a_lost_answer_still_starts_the_build(dynamodb: Any) -> None:
    launcher = RecordingLauncher()
    result = dispatch(load_event("ecs-task-running.json"), settings(), OfflineResolver(),
                      cache=ScanCacheTable(LostAnswer(dynamodb), TABLE), launcher=launcher,
                      clock=lambda: NOW, memo=Memo())  # fmt: skip
    assert [m.decision_line(o)["reason"] for o in result.outcomes] == [m.STARTED, m.STARTED]
    assert len(launcher.requests) == 2


def test_verdicts_are_recorded_and_looked_up(dynamodb: Any) -> None:
    cache = ScanCacheTable(dynamodb, TABLE)
    assert _take(cache, "L1") is None
    assert cache.lookup(KEY, NOW + 1).status == "in-flight"  # type: ignore[union-attr]
    verdict = Verdict("failed", "nginx", "deployscan-scan:9", "s3://b/r/report.json", {"high": 2})
    cache.record(KEY, verdict, now=NOW + 60, keep_seconds=3600)
    found = cache.lookup(KEY, NOW + 61)
    assert found is not None
    assert (found.status, found.build_id, found.report_uri) == (
        "failed", "deployscan-scan:9", "s3://b/r/report.json")  # fmt: skip
    assert found.counts == {"high": 2}
    assert "lease_expires_at" not in _item(dynamodb)
    assert cache.lookup(KEY, NOW + 60 + 3601) is None  # expired: no longer suppresses
    cache.record(KEY, verdict, now=NOW + 100, keep_seconds=0)  # an alert that did not go out
    assert cache.lookup(KEY, NOW + 101) is None
    assert _take(cache, "L3", NOW + 101) is None


def test_an_unreadable_table_is_a_cache_error() -> None:
    client = boto3.client("dynamodb", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_client_error("get_item", "ResourceNotFoundException")
        with pytest.raises(CacheError, match="ResourceNotFoundException"):
            ScanCacheTable(client, TABLE).lookup(KEY, NOW)


def test_a_lease_says_what_it_took_over_and_where_that_build_ran(dynamodb: Any) -> None:
    cache = ScanCacheTable(dynamodb, TABLE)

    def take(lease: str, now: float) -> Held | Taken:
        return cache.take(KEY, image="nginx", lease_id=lease, now=now, seconds=600, ttl=86400)

    assert take("L1", NOW) == Taken(KEY)  # nothing there before
    cache.started(KEY, "L1", "deployscan-scan-lambda:1", NOW + 1, 600, tier="lambda")
    assert _item(dynamodb)["compute_tier"]["S"] == "lambda"
    assert isinstance(take("L2", NOW + 300), Held)  # the build is alive
    # that build died with its lease: the next one learns it was an unfinished Lambda build
    assert take("L2", NOW + 602) == Taken(KEY, Replaced(unfinished=True, tier="lambda"))
    assert take("L2", NOW + 603) == Taken(KEY)  # a retried put of our own lease
    cache.started(KEY, "L2", "deployscan-scan:2", NOW + 604, 600, tier="ec2")
    verdict = Verdict("error", "nginx", "deployscan-scan:2", compute_tier="ec2")
    cache.record(KEY, verdict, now=NOW + 700, keep_seconds=0)
    assert take("L3", NOW + 701) == Taken(KEY, Replaced(unfinished=True, tier="ec2"))
    cache.started(KEY, "L3", "deployscan-scan-lambda:3", NOW + 702, 600, tier="lambda")
    cache.record(KEY, Verdict("passed", "nginx", "local"), now=NOW + 800, keep_seconds=60)
    assert _item(dynamodb)["compute_tier"]["S"] == "lambda"  # a verdict without one keeps it
    assert take("L4", NOW + 861) == Taken(KEY, Replaced(unfinished=False, tier="lambda"))
