"""What the gate adapter tests share: a hook runtime over the scan cache in moto, a recording
launcher, a session handing out the clients a test prepared (moto or Stubber), a clock whose
sleep moves time, payload fixtures from tests/events, and scan-cache records."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import boto3

from dispatcher.gate.breakglass import BreakGlass
from dispatcher.gate.core import Starter
from dispatcher.gate.runtime import AllowList, HookRuntime
from dispatcher.gate.settings import GateSettings
from dispatcher.imageref import ImageRef
from dispatcher.scancache import ScanCacheTable, cache_key
from dispatcher.scancache.gatereads import GateCacheTable
from dispatcher.scanitems import Verdict
from tests.dispatcher.conftest import (
    ACCOUNT,
    REGION,
    TABLE,
    RecordingLauncher,
    load_event,
    settings,
)

NOW = 1_800_000_000.0
ENFORCE = GateSettings(mode="enforce", scanner="qscanner", max_wait_minutes=10)
REPORT = "s3://deployscan-reports/scans/report.json"


@dataclass
class Clock:
    """Time that only moves when the code under test sleeps (or the test says so)."""

    now: float = NOW
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Session:
    """A boto3-session stand-in: `client(service)` answers the client the test prepared (a moto
    client or one under a Stubber), falling back to a moto client in the region asked for."""

    def __init__(self, clients: dict[str, Any] | None = None) -> None:
        self.clients = clients or {}
        self.asked: list[tuple[str, str | None]] = []

    def client(self, service: str, region_name: str | None = None, **_: Any) -> Any:
        self.asked.append((service, region_name))
        if service not in self.clients:
            self.clients[service] = boto3.client(service, region_name=region_name or REGION)
        return self.clients[service]


def runtime(
    dynamodb: Any,
    gate: GateSettings = ENFORCE,
    *,
    clients: dict[str, Any] | None = None,
    clock: Clock | None = None,
    breakglass: tuple[BreakGlass, ...] = (),
    launcher: RecordingLauncher | None = None,
    session_factory: Any = None,
) -> HookRuntime:
    """A hook runtime as `runtime.from_env` builds it, with the test's clients and clock."""
    clock = clock or Clock()
    return HookRuntime(
        gate=gate,
        cache=GateCacheTable(dynamodb, TABLE),
        starter=Starter(settings(region=REGION), launcher or RecordingLauncher()),
        session=Session(clients),
        allow_list=AllowList("ssm:/test" if breakglass else "", lambda _: breakglass),
        role_name="deployscan-read",
        home_account=ACCOUNT,
        clock=clock,
        sleep=clock.sleep,
        session_factory=session_factory,
    )


def record(dynamodb: Any, image: str, status: str, *, at: float = NOW - 60, **counts: int) -> None:
    """A finished scan of `image` in the cache, completed at `at`."""
    verdict = Verdict(status, image, "deployscan-scan:b-1", REPORT, counts)
    keep = 0 if status == "error" else 3600
    key = cache_key(ImageRef.parse(image))
    ScanCacheTable(dynamodb, TABLE).record(key, verdict, now=at, keep_seconds=keep)


def in_flight(dynamodb: Any, image: str, *, at: float = NOW) -> None:
    """A scan of `image` running now (lease taken, build started)."""
    table, key = ScanCacheTable(dynamodb, TABLE), cache_key(ImageRef.parse(image))
    table.take(key, image=image, lease_id="l-9", now=at, seconds=3600, ttl=3600)
    table.started(key, "l-9", "deployscan-scan:b-9", at, 3600)


def payload(name: str, **changes: Any) -> Any:
    """A hook payload fixture from tests/events (a fresh copy), top-level keys replaced."""
    event = copy.deepcopy(load_event(name))
    event.update(changes)
    return event
