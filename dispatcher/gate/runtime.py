"""What a gate Lambda needs, built once per execution environment: settings, the scan cache, the
scan starter, the break-glass list (re-read at most once a minute), clients, clock and sleep."""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import boto3

from dispatcher.errors import SettingsError
from dispatcher.gate.breakglass import BreakGlass, load_breakglass
from dispatcher.gate.code import GateCode, code_verdicts
from dispatcher.gate.core import Destination, Starter, evaluate
from dispatcher.gate.publish import DecisionEvents
from dispatcher.gate.settings import ALLOW, AUDIT, DENY, ENFORCE, GateSettings
from dispatcher.gate.verdict import GateVerdict
from dispatcher.imageref import ImageRef
from dispatcher.launch import CodeBuildLauncher
from dispatcher.logs import configure
from dispatcher.resolve_aws import AwsResolver
from dispatcher.scancache.gatereads import GateCacheTable
from dispatcher.settings import Settings

ALLOW_LIST_SECONDS = 60.0  # a break-glass entry added during an incident counts within a minute


@dataclass
class AllowList:
    """The break-glass list, read from S3 or SSM and kept for `ALLOW_LIST_SECONDS`."""

    source: str
    load: Callable[[str], tuple[BreakGlass, ...]]
    clock: Callable[[], float] = time.monotonic
    _entries: tuple[BreakGlass, ...] = ()
    _read_at: float | None = None

    def entries(self) -> tuple[BreakGlass, ...]:
        """The current entries; `SettingsError` when the list cannot be read."""
        if not self.source:
            return ()
        now = self.clock()
        if self._read_at is None or now - self._read_at >= ALLOW_LIST_SECONDS:
            self._entries, self._read_at = self.load(self.source), now
        return self._entries


@dataclass(frozen=True)
class HookRuntime:
    """One gate Lambda's long-lived parts; `session` is its own boto3 session (or a fake)."""

    gate: GateSettings
    cache: GateCacheTable
    starter: Starter | None
    session: Any
    allow_list: AllowList
    role_name: str | None = None
    home_account: str | None = None
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    session_factory: Callable[..., Any] | None = None
    events: DecisionEvents | None = None  # "Gate Decision" events; None: not published
    _clients: dict[str, Any] = field(default_factory=dict, compare=False)

    def resolver(self) -> AwsResolver:
        """A resolver for one invocation (its lookups cached, other accounts through the
        dispatcher's read-only role)."""
        factory = {"session_factory": self.session_factory} if self.session_factory else {}
        return AwsResolver(self.session, self.role_name, home_account=self.home_account, **factory)

    def client(self, service: str) -> Any:
        """A client of this Lambda's own account and region, made once."""
        if service not in self._clients:
            self._clients[service] = self.session.client(service)
        return self._clients[service]

    def verdicts(
        self,
        images: Sequence[ImageRef],
        adapter: str,
        destination: Destination,
        first_seen: float,
    ) -> list[GateVerdict]:
        """The core's verdicts; missing scans start with trigger gate:<adapter>."""
        starter = replace(self.starter, adapter=adapter) if self.starter else None
        return evaluate(
            images,
            self.gate,
            self.cache,
            self.clock,
            breakglass=self.allow_list.entries(),
            starter=starter,
            destination=destination,
            since=first_seen,
        )

    def code_verdicts(
        self, codes: Sequence[GateCode], adapter: str, destination: Destination, first_seen: float
    ) -> list[GateVerdict]:
        """The verdicts of zip code; missing scans of code Lambda holds start (gate:<adapter>),
        another account's code through the dispatcher's read-only role."""
        starter = replace(self.starter, adapter=adapter) if self.starter else None
        return code_verdicts(codes, self.gate, self.cache, self.clock, starter=starter,
                             role_for=self.resolver().code_role_arn, destination=destination,
                             since=first_seen)  # fmt: skip


def from_env(env: Mapping[str, str], session: Any, home_account: str | None = None) -> HookRuntime:
    """Read the settings once (`SettingsError` when one is invalid) and build the clients.
    With EVENT_BUS_NAME set (the templates set it), final decisions go to that bus as events."""
    settings = Settings.from_env(env)
    gate = GateSettings.from_env(env)
    s3, ssm = session.client("s3"), session.client("ssm")
    allow_list = AllowList(gate.breakglass_source, lambda src: load_breakglass(src, s3=s3, ssm=ssm))
    return HookRuntime(
        gate=gate,
        cache=GateCacheTable(session.client("dynamodb"), settings.cache_table),
        starter=Starter(settings, CodeBuildLauncher(session.client("codebuild"))),
        session=session,
        allow_list=allow_list,
        role_name=settings.cross_account_role_name,
        home_account=home_account,
        events=_decision_events(env, session, gate, home_account),
    )


def _decision_events(
    env: Mapping[str, str], session: Any, gate: GateSettings, account: str | None
) -> DecisionEvents | None:
    if "EVENT_BUS_NAME" not in env:
        return None
    bus = env["EVENT_BUS_NAME"].strip()
    region = getattr(session, "region_name", None)
    return DecisionEvents(session.client("events"), bus, gate.mode, account, region)


def fallback_gate(env: Mapping[str, str]) -> GateSettings:
    """The settings to answer with when the environment is invalid: the mode and GATE_ON_ERROR
    as far as they can be read, else audit and deny (so a broken audit gate never blocks)."""
    try:
        return GateSettings.from_env(env)
    except SettingsError:
        mode = ENFORCE if env.get("GATE_MODE", "").strip().lower() == ENFORCE else AUDIT
        on_error = ALLOW if env.get("GATE_ON_ERROR", "").strip().lower() == ALLOW else DENY
        return GateSettings(mode=mode, on_error=on_error)


@functools.cache
def lambda_runtime(account: str | None) -> HookRuntime:
    """A hook Lambda's runtime: built on the first invocation of an execution environment (from
    its environment variables and its own session), then reused; `SettingsError` if invalid."""
    run = from_env(os.environ, boto3.session.Session(), account)
    configure(os.environ.get("LOG_LEVEL", "").strip().upper() or "INFO")  # validated by from_env
    return run
