"""A deploy wave, simulated end to end on a virtual clock.

Deploy events go into the emulated SQS queue (tests/dispatcher/sqssim.py); the event source
mapping invokes the real dispatcher (`dispatcher.batch.handle_batch`, or in `legacy` mode the edge
before it: `dispatch` and its partial batch response, nothing else) with up to `concurrency`
batches at once; the real `CodeBuildLauncher` calls a CodeBuild stand-in with a concurrent-build
limit, build durations and injected faults, whose finished builds record verdicts in the real
scan-cache table (moto's conditional writes). `legacy` mode imports nothing newer than that edge,
so benchmarks/wave_bench.py runs it on the previous commit's dispatcher too.
"""

from __future__ import annotations

import heapq
import itertools
import json
import random
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError, ReadTimeoutError

from dispatcher.core import dispatch
from dispatcher.dedup import Memo
from dispatcher.launch import CodeBuildLauncher
from dispatcher.scancache import ScanCacheTable, Verdict, digest_key
from dispatcher.settings import Settings
from tests.dispatcher.conftest import image_event
from tests.dispatcher.fakes import FakeResolver
from tests.dispatcher.sqssim import ACCOUNT, EmulatedSqs, QueueConfig, lambda_event

TABLE = "deployscan-scan-cache"
POISON_BODY = "{not json"
BATCH_WINDOW = 1.0  # the event source mapping's MaximumBatchingWindowInSeconds
OVERTAKE = 300.0  # "in order of arrival" at the resolution of a deploy wave


@dataclass(frozen=True)
class Faults:
    """Injected failures, each a probability per call (0 = none)."""

    throttle: float = 0.0  # StartBuild: ThrottlingException, nothing started
    lost_response: float = 0.0  # StartBuild: the build starts, the caller sees a timeout
    table: float = 0.0  # a dispatcher write to the scan-cache table is throttled
    visibility: float = 0.0  # ChangeMessageVisibility errors
    crash: float = 0.0  # an invocation dies (timeout): the whole batch comes back


@dataclass
class Report:
    """What a wave came to."""

    images: int
    never_scanned: int
    duplicate_builds: int
    last_start: float | None  # seconds from the first deploy event to the last first build
    ideal_last_start: float | None  # the same, had every freed slot been refilled at once
    poison_to_dlq: float | None
    dead_lettered: int
    start_calls: int
    refused: int
    max_receives: int
    out_of_order: float  # share of first builds that overtook an image sent >= OVERTAKE s earlier
    invocations: int


class CodeBuildStandIn:
    """`start_build` with a concurrent-build limit, like a project with concurrentBuildLimit."""

    def __init__(self, sim: Simulation, limit: int, minutes: tuple[float, float]) -> None:
        self.sim, self.limit, self.minutes = sim, limit, minutes
        self.running: dict[str, str] = {}  # build id -> image key
        self.started: list[tuple[float, str]] = []  # (time, image key) of every build
        self.minutes_drawn: list[float] = []  # each build's duration, in start order
        self.tokens: dict[str, tuple[float, str]] = {}
        self.calls = self.refused = 0

    def start_build(self, **request: Any) -> dict[str, Any]:
        self.calls += 1
        now, faults, rng = self.sim.now, self.sim.faults, self.sim.rng
        token = request["idempotencyToken"]
        if token in self.tokens and now - self.tokens[token][0] < 300:
            return {"build": {"id": self.tokens[token][1]}}  # StartBuild's idempotency
        if len(self.running) >= self.limit:
            self.refused += 1
            raise ClientError(
                {"Error": {"Code": "AccountLimitExceededException", "Message": "limit"}},
                "StartBuild",
            )
        if rng.random() < faults.throttle:
            raise ClientError({"Error": {"Code": "ThrottlingException"}}, "StartBuild")
        env = {v["name"]: v["value"] for v in request["environmentVariablesOverride"]}
        key = digest_key(env["IMAGE_DIGEST"])
        build_id = f"{request['projectName']}:{len(self.started) + 1}"
        self.running[build_id] = key
        self.started.append((now, key))
        self.tokens[token] = (now, build_id)
        self.minutes_drawn.append(rng.uniform(*self.minutes))
        self.sim.at(now + 60 * self.minutes_drawn[-1], "build-end", build_id)
        if rng.random() < faults.lost_response:
            raise ReadTimeoutError(endpoint_url="https://codebuild.example")
        return {"build": {"id": build_id}}

    def finish(self, build_id: str) -> None:
        """The build ends and records its verdict, as the runner does."""
        key = self.running.pop(build_id)
        verdict = Verdict("passed", key, build_id, "s3://reports/x", {"critical": 0})
        self.sim.cache.record(key, verdict, now=self.sim.now, keep_seconds=24 * 3600)


class FlakyTable:
    """A DynamoDB client whose item writes are sometimes throttled."""

    WRITES = frozenset({"put_item", "update_item", "delete_item"})

    def __init__(self, client: Any, sim: Simulation) -> None:
        self.client, self.sim = client, sim

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)
        if name not in self.WRITES:
            return method

        def flaky(**kwargs: Any) -> Any:
            if self.sim.rng.random() < self.sim.faults.table:
                raise ClientError(
                    {"Error": {"Code": "ProvisionedThroughputExceededException"}}, name
                )
            return method(**kwargs)

        return flaky


@dataclass
class Simulation:
    """One wave (or several) through the queue, the dispatcher and CodeBuild."""

    dynamodb: Any
    settings: Settings
    queue_config: QueueConfig
    legacy: bool = False
    capacity: int = 10
    build_minutes: tuple[float, float] = (3.0, 10.0)
    faults: Faults = Faults()
    concurrency: int = 5
    batch_size: int = 10
    seed: int = 0
    now: float = 1_800_000_000.0
    events: list[tuple[float, int, str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.start = self.now
        self.sqs = EmulatedSqs(
            self.queue_config, lambda: self.now, self.rng, fail_rate=self.faults.visibility
        )
        self.cache = ScanCacheTable(self.dynamodb, TABLE)
        self.dispatcher_cache = ScanCacheTable(FlakyTable(self.dynamodb, self), TABLE)
        self.codebuild = CodeBuildStandIn(self, self.capacity, self.build_minutes)
        self.launcher = CodeBuildLauncher(self.codebuild)
        self.memos = [Memo() for _ in range(self.concurrency)]
        self.idle = list(range(self.concurrency))
        self.arrived: dict[str, float] = {}  # image key -> first deploy event
        self.poison_sent: float | None = None
        self.invocations = 0
        self._seq = itertools.count()

    def at(self, when: float, kind: str, payload: Any = None) -> None:
        """Schedule something."""
        heapq.heappush(self.events, (when, next(self._seq), kind, payload))

    def deploy(self, offset: float, image: int) -> None:
        """An image's task reaches RUNNING `offset` seconds from the start."""
        self.at(self.start + offset, "send", image)

    def poison(self, offset: float) -> None:
        """An unreadable message arrives `offset` seconds from the start."""
        self.at(self.start + offset, "send", None)

    def run(self, horizon_hours: float = 48.0) -> Report:
        """Run until every message and build is done (or the horizon)."""
        end = self.start + horizon_hours * 3600
        while self.now < end:
            wake = self.sqs.next_visible() if self.idle else None
            next_event = self.events[0][0] if self.events else None
            candidates = [t for t in (wake, next_event) if t is not None]
            if not candidates:
                break
            self.now = max(self.now, min(candidates))
            while self.events and self.events[0][0] <= self.now:
                _, _, kind, payload = heapq.heappop(self.events)
                self._handle(kind, payload)
            while self.idle and self.sqs.next_visible() is not None:
                if not self._invoke(self.idle.pop()):
                    break
        return self._report()

    def _handle(self, kind: str, payload: Any) -> None:
        if kind == "send":
            if payload is None:
                self.poison_sent = self.now
                self.sqs.send(POISON_BODY)
            else:
                self.arrived.setdefault(digest_key(_digest(payload)), self.now)
                self.sqs.send(json.dumps(image_event(payload)))
        elif kind == "build-end":
            self.codebuild.finish(payload)
        elif kind == "slot-free":
            self.idle.append(payload)

    def _invoke(self, slot: int) -> bool:
        messages = self.sqs.receive(self.batch_size, until=self.now + BATCH_WINDOW)
        if not messages:
            self.idle.append(slot)
            return False
        self.invocations += 1
        self.at(self.now + 0.2 + 0.05 * len(messages), "slot-free", slot)
        if self.rng.random() < self.faults.crash:
            return True  # every message comes back after the queue's visibility timeout
        event = lambda_event(messages)
        failed = {f["itemIdentifier"] for f in self._call(event, self.memos[slot])}
        for message in messages:
            if message.message_id not in failed:
                self.sqs.delete(message)
        return True

    def _call(self, event: dict[str, Any], memo: Memo) -> list[dict[str, str]]:
        resolver = FakeResolver(home=ACCOUNT)
        if self.legacy:  # the edge before: a partial batch response and nothing else
            result = dispatch(
                event, self.settings, resolver, cache=self.dispatcher_cache,
                launcher=self.launcher, clock=lambda: self.now, memo=memo,
            )  # fmt: skip
            return result.batch_item_failures()
        # Imported here: legacy mode also runs on the dispatcher from before these modules.
        from dispatcher.batch import handle_batch
        from dispatcher.requeue import SqsQueue

        response = handle_batch(
            event, self.settings, resolver, cache=self.dispatcher_cache, launcher=self.launcher,
            queue=SqsQueue(self.sqs), clock=lambda: self.now, memo=memo, uniform=self.rng.uniform,
        )  # fmt: skip
        return response["batchItemFailures"]

    def _report(self) -> Report:
        starts: dict[str, float] = {}
        for when, key in self.codebuild.started:
            starts.setdefault(key, when)
        waits = sorted((self.arrived[k], starts.get(k)) for k in self.arrived)
        overtakes = sum(
            1 for arrived, began in waits if began is not None and any(
                a <= arrived - OVERTAKE and (b is None or b > began) for a, b in waits
            )
        )  # fmt: skip
        poison = [m for m in self.sqs.dead if m.body == POISON_BODY]
        first = min(self.arrived.values(), default=self.start)
        return Report(
            ideal_last_start=self._ideal(first),
            images=len(self.arrived),
            never_scanned=len(set(self.arrived) - set(starts)),
            duplicate_builds=len(self.codebuild.started) - len(starts),
            last_start=max(starts.values()) - first if starts else None,
            poison_to_dlq=(
                poison[0].dead_lettered_at - self.poison_sent
                if poison and poison[0].dead_lettered_at and self.poison_sent
                else None
            ),
            dead_lettered=len(self.sqs.dead) - len(poison),
            start_calls=self.codebuild.calls,
            refused=self.codebuild.refused,
            max_receives=max((m.receives for m in self._all_messages()), default=0),
            out_of_order=overtakes / max(1, len(starts)),
            invocations=self.invocations,
        )

    def _ideal(self, first: float) -> float | None:
        """The last start had each image taken, in order of arrival, the moment a slot freed.

        The k-th build lasts as long as the k-th build of the run did (a fresh draw past those).
        """
        extra = random.Random(self.seed + 1)
        slots, last = [first] * self.capacity, None
        for k, arrived in enumerate(sorted(self.arrived.values())):
            drawn = self.codebuild.minutes_drawn
            minutes = drawn[k] if k < len(drawn) else extra.uniform(*self.build_minutes)
            last = max(arrived, heapq.heappop(slots))
            heapq.heappush(slots, last + 60 * minutes)
        return None if last is None else last - first

    def _all_messages(self) -> list[Any]:
        return [*self.sqs.queue.values(), *self.sqs.dead, *self.sqs.expired, *self.sqs.done]


def _digest(image: int) -> str:
    return f"sha256:{image:064x}"  # as tests.dispatcher.conftest.image_event has it
