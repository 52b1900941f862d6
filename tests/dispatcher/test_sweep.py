"""The sweep against moto (tasks and image functions running before any deploy event): backfill,
rescans by age, no rescan when fresh, one digest in two accounts, expiry, unreachable accounts."""

from __future__ import annotations

from typing import Any

import pytest

from dispatcher.scancache import ScanCacheTable, Verdict, digest_key
from dispatcher.scancache.inuse import run_key, unit_key
from dispatcher.settings import Filters
from dispatcher.sweep.messages import Unit
from dispatcher.sweep.run import run_sweep
from dispatcher.sweep.scope import SweepSettings
from dispatcher.sweep.status import read_rows
from dispatcher.sweep.units import scope
from tests.dispatcher.conftest import RecordingLauncher, settings, table_items
from tests.dispatcher.fakes import FakeResolver
from tests.dispatcher.sweepfakes import (
    HOME,
    MEMBER,
    REGION,
    MotoUnits,
    image_function,
    run_tasks,
    stop_tasks,
)

NOW = 1_800_000_000.0
WEB = "registry.example.com/shop/web:1.4"
API = "registry.example.com/shop/api:2.0"
D_WEB, D_API = "sha256:" + "a1" * 32, "sha256:" + "b2" * 32
FN_IMAGE = f"{HOME}.dkr.ecr.{REGION}.amazonaws.com/jobs/report:7"
SWEEP = settings(sweep=SweepSettings(accounts=(MEMBER,), regions=(REGION,)))
UNITS = [Unit(HOME, REGION), Unit(MEMBER, REGION)]


def sweep(cache: ScanCacheTable, units: MotoUnits, *, now: float = NOW, **kw: Any) -> Any:
    launcher = RecordingLauncher()
    result = run_sweep(UNITS, SWEEP, units, cache, resolver=FakeResolver(), launcher=launcher,
                       clock=lambda: now, sleep=lambda s: None, **kw)  # fmt: skip
    return result, launcher


def lines(result: Any) -> dict[tuple[str, str | None], dict[str, Any]]:
    return {(line.account, line.digest): line.to_dict() for line in result.lines}


@pytest.fixture
def world(aws: None) -> MotoUnits:
    """web runs in two services of the home account and in the member account; api at home;
    one image function at home."""
    run_tasks(HOME, "prod", "service:web", WEB, 3)
    run_tasks(HOME, "batch", "service:web-batch", WEB, 1)
    run_tasks(MEMBER, "prod", "service:web", WEB, 2)
    run_tasks(HOME, "prod", "service:api", API, 1)
    return MotoUnits({WEB: D_WEB, API: D_API})


def test_backfill_scans_every_running_digest_once_with_trigger_sweep(
    world: MotoUnits, cache: ScanCacheTable, dynamodb: Any
) -> None:
    d_fn = image_function(HOME, "report", FN_IMAGE)
    result, launcher = sweep(cache, world)
    assert sorted(r.digest for r in launcher.requests) == sorted([D_WEB, D_API, d_fn])
    assert {r.trigger for r in launcher.requests} == {"sweep"}
    found = lines(result)
    assert {k: v["reason"] for k, v in found.items()} == {
        (HOME, D_WEB): "never-scanned", (HOME, D_API): "never-scanned",
        (HOME, d_fn): "never-scanned", (MEMBER, D_WEB): "never-scanned",
    }  # fmt: skip
    web = found[(HOME, D_WEB)]
    assert web["action"] == "build" and web["last_scanned"] is None and web["image"] == WEB
    assert {(p["name"], p["tasks"]) for p in web["where"]} == {
        ("prod/service:web", 3), ("batch/service:web-batch", 1)
    }  # fmt: skip
    assert found[(HOME, d_fn)]["where"] == [
        {"kind": "lambda", "name": "report", "platform": "linux/amd64"}
    ]
    assert not result.retry
    items = table_items(dynamodb)
    assert items[run_key(D_WEB, HOME, REGION)]["tasks"] == "4"
    assert items[run_key(D_WEB, MEMBER, REGION)]["tasks"] == "2"
    assert items[digest_key(D_WEB)]["status"] == "in-flight"  # the normal path's lease


def test_a_digest_in_two_accounts_is_recorded_once_per_place_and_built_once(
    world: MotoUnits, cache: ScanCacheTable
) -> None:
    _, launcher = sweep(cache, world)
    assert [r.digest for r in launcher.requests].count(D_WEB) == 1
    assert {(e.account, e.digest) for e in cache.in_use(NOW, D_WEB)} == {
        (HOME, D_WEB), (MEMBER, D_WEB)
    }  # fmt: skip
    row = _row(cache, D_WEB)
    assert row.accounts == (HOME, MEMBER)
    assert row.tasks == 6
    assert row.where() == "runs in 3 services (6 tasks) in 2 accounts, 1 region"


def _row(cache: ScanCacheTable, digest: str) -> Any:
    return next((r for r in read_rows(cache, NOW) if r.digest == digest), None)


def _verdict(cache: ScanCacheTable, digest: str, *, at: float, status: str = "passed") -> None:
    verdict = Verdict(status, WEB, "deployscan-scan:9", "s3://b/p/r/report.json", {"high": 2})
    cache.record(digest_key(digest), verdict, now=at, keep_seconds=24 * 3600)


def test_an_old_scan_is_rescanned_and_a_fresh_one_is_not(
    world: MotoUnits, cache: ScanCacheTable
) -> None:
    _verdict(cache, D_WEB, at=NOW - 8 * 86400)  # older than RESCAN_AFTER_HOURS (168)
    _verdict(cache, D_API, at=NOW - 86400 + 60)  # inside both the cache TTL and the rescan age
    result, launcher = sweep(cache, world)
    assert [r.digest for r in launcher.requests] == [D_WEB]
    found = lines(result)
    assert found[(HOME, D_WEB)]["reason"] == "rescan-due"
    assert found[(HOME, D_WEB)]["last_scanned"] == "2027-01-07T08:00:00Z"
    assert (found[(HOME, D_API)]["action"], found[(HOME, D_API)]["reason"]) == (
        "skip", "scanned-recently"
    )  # fmt: skip


def test_the_rescan_age_outlives_the_verdicts_cache_ttl(
    world: MotoUnits, cache: ScanCacheTable, dynamodb: Any
) -> None:
    """A verdict past CACHE_TTL_HOURS (and deleted by DynamoDB) but younger than the rescan
    age: the index remembers the scan, so the sweep does not scan again."""
    _verdict(cache, D_WEB, at=NOW - 3600)
    _verdict(cache, D_API, at=NOW - 3600)
    sweep(cache, world)
    for digest in (D_WEB, D_API):  # DynamoDB's TTL deletes the expired verdict items
        dynamodb.delete_item(TableName="deployscan-scan-cache",
                             Key={"pk": {"S": digest_key(digest)}})  # fmt: skip
    result, launcher = sweep(cache, world, now=NOW + 3 * 86400)
    assert launcher.requests == []
    assert {line.reason for line in result.lines} == {"scanned-recently"}


def test_a_failed_last_scan_and_an_in_flight_one(world: MotoUnits, cache: ScanCacheTable) -> None:
    _verdict(cache, D_WEB, at=NOW - 60, status="error")
    cache.take(digest_key(D_API), image=API, lease_id="other", now=NOW - 5, seconds=900, ttl=1)
    result, launcher = sweep(cache, world)
    assert [r.digest for r in launcher.requests] == [D_WEB]
    found = lines(result)
    assert found[(HOME, D_WEB)]["reason"] == "last-scan-error"
    assert found[(HOME, D_API)]["reason"] == "scan-in-progress"


def test_a_digest_that_stops_running_leaves_the_index(
    world: MotoUnits, cache: ScanCacheTable, dynamodb: Any
) -> None:
    arns = run_tasks(HOME, "tmp", "service:once", "registry.example.com/once:1", 1)
    world.digests = {**world.digests, "registry.example.com/once:1": "sha256:" + "c3" * 32}
    sweep(cache, world)
    key = run_key("sha256:" + "c3" * 32, HOME, REGION)
    item = table_items(dynamodb)[key]
    assert int(item["expires_at"]) == int(NOW) + 72 * 3600  # lapses by TTL if never swept again
    stop_tasks(HOME, "tmp", arns)
    sweep(cache, world, now=NOW + 86400)
    items = table_items(dynamodb)
    assert key not in items
    assert run_key(D_WEB, HOME, REGION) in items
    assert "sha256:" + "c3" * 32 not in items[unit_key(HOME, REGION)]["digests"]
    assert all(e.digest != "sha256:" + "c3" * 32 for e in cache.in_use(NOW + 86400))


def test_an_index_entry_lapses_when_no_sweep_sees_it(
    world: MotoUnits, cache: ScanCacheTable
) -> None:
    sweep(cache, world)
    assert cache.in_use(NOW + 71 * 3600)
    assert cache.in_use(NOW + 73 * 3600) == []


def test_a_member_account_without_the_role_is_reported_and_skipped(
    world: MotoUnits, cache: ScanCacheTable
) -> None:
    units = MotoUnits(world.digests, missing=frozenset({MEMBER}))
    result, launcher = sweep(cache, units)
    failed = [line for line in result.lines if line.account == MEMBER]
    assert [(f.action, f.reason) for f in failed] == [("skip", "account-unreachable")]
    assert sorted(r.digest for r in launcher.requests) == sorted([D_WEB, D_API])
    assert not result.retry  # a missing role is not retried: it will not appear by waiting


def test_dry_run_records_and_starts_nothing(
    world: MotoUnits, cache: ScanCacheTable, dynamodb: Any
) -> None:
    result, launcher = sweep(cache, world, dry_run=True)
    assert launcher.requests == [] and table_items(dynamodb) == {}
    assert {line.action for line in result.lines} == {"build"}


def test_scope_is_home_plus_members_in_each_region_narrowed_by_options() -> None:
    two = settings(sweep=SweepSettings(accounts=(MEMBER,), regions=(REGION, "us-east-1")))
    assert len(scope(two, HOME)) == 4
    assert scope(two, HOME, accounts=[MEMBER], regions=["us-east-1"]) == [Unit(MEMBER, "us-east-1")]
    assert scope(settings(region="eu-west-1"), HOME) == [Unit(HOME, "eu-west-1")]


def test_cluster_filters_do_not_stop_a_running_function(aws: None, cache: ScanCacheTable) -> None:
    d_fn = image_function(HOME, "report", FN_IMAGE)
    only = settings(sweep=SweepSettings(regions=(REGION,)), filters=Filters(
        include_clusters=("prod",)))  # fmt: skip
    launcher = RecordingLauncher()
    run_sweep([Unit(HOME, REGION)], only, MotoUnits({}), cache, resolver=FakeResolver(),
              launcher=launcher, clock=lambda: NOW)  # fmt: skip
    assert [(r.digest, r.resource_arn) for r in launcher.requests] == [
        (d_fn, f"arn:aws:lambda:{REGION}:{HOME}:function:report")
    ]
