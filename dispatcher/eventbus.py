"""deployscan's EventBridge events: builders for each detail-type and the `PutEvents` sender.

Source `deployscan`; detail-types `Scan Completed` (from the scan build) and `Gate Decision`
(from the gate Lambdas). Their JSON Schema is `docs/events.schema.json`; a detail key is added
there first. PutEvents takes at most 10 entries per call and 256 KB per entry (the size counted
as AWS does: Time, Source, DetailType, Detail and Resources in UTF-8); the answer's
`FailedEntryCount` is always checked and only the failed entries are sent again, and only for
the error codes that can succeed later.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dispatcher.errors import aws_error_code, aws_error_text
from dispatcher.gate.verdict import GateVerdict

SOURCE = "deployscan"
SCAN_COMPLETED = "Scan Completed"
GATE_DECISION = "Gate Decision"
SCHEMA_VERSION = 1
MAX_ENTRIES = 10
MAX_ENTRY_BYTES = 256 * 1024
TIME_BYTES = 14  # what AWS counts for the Time field, set or not
RETRYABLE = frozenset({"InternalFailure", "ThrottlingException"})
_CALL_RETRYABLE = RETRYABLE | {"InternalException"}  # what a whole failed call may answer
ATTEMPTS = 4
MAX_TOP_FINDINGS = 10


@dataclass(frozen=True)
class EventEntry:
    """One event to send: its detail-type, detail object and the ARNs it concerns."""

    detail_type: str
    detail: Mapping[str, Any]
    resources: tuple[str, ...] = ()

    def request(self, bus: str) -> dict[str, Any]:
        """The `PutEvents` entry (the default bus when `bus` is empty)."""
        entry: dict[str, Any] = {
            "Source": SOURCE,
            "DetailType": self.detail_type,
            "Detail": json.dumps(self.detail, separators=(",", ":"), ensure_ascii=False),
            "Resources": list(self.resources),
        }
        if bus:
            entry["EventBusName"] = bus
        return entry

    def size(self) -> int:
        """The entry's size as PutEvents counts it."""
        entry = self.request("")
        parts = [entry["Source"], entry["DetailType"], entry["Detail"], *entry["Resources"]]
        return TIME_BYTES + sum(len(p.encode("utf-8")) for p in parts)


@dataclass(frozen=True)
class SendResult:
    """How many events went out, the calls it took, and each event that did not."""

    sent: int
    calls: int
    failures: tuple[str, ...] = field(default=())


def scan_completed(
    *,
    kind: str,
    image: str,
    digest: str,
    verdict: str,
    counts: Mapping[str, int],
    vulnerability_data: bool,
    policy_reason: str,
    report_uris: Mapping[str, str],
    report_url: str,
    trigger: str,
    resource_arn: str,
    account: str,
    region: str,
    scanner: str,
    build_id: str,
    finished_at: str,
    top_findings: Sequence[Mapping[str, Any]] = (),
) -> EventEntry:
    """`Scan Completed`: what was scanned, where it runs, the verdict, counts and reports.

    `top_findings` (most severe first) are dropped from the end until the entry fits 256 KB.
    """
    detail: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": kind,
        "image": image,
        "digest": digest,
        "verdict": verdict,
        "counts": dict(counts),
        "vulnerability_data": vulnerability_data,
        "policy_reason": policy_reason,
        "report_uris": dict(report_uris),
        "report_url": report_url or None,
        "trigger": trigger,
        "resource": resource_arn or None,
        "account": account or None,
        "region": region or None,
        "scanner": scanner,
        "build_id": build_id or None,
        "finished_at": finished_at,
        "top_findings": [dict(f) for f in top_findings[:MAX_TOP_FINDINGS]],
    }
    return _fit(EventEntry(SCAN_COMPLETED, detail, _arns(resource_arn)))


def gate_decision(
    verdict: GateVerdict,
    *,
    gate: str,
    mode: str,
    account: str | None = None,
    region: str | None = None,
    resource_arn: str | None = None,
    deployment_id: str | None = None,
) -> EventEntry:
    """`Gate Decision`: the gate's answer for one image of one deploy."""
    detail: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "gate": gate,
        "mode": mode,
        "image": verdict.image,
        "decision": verdict.outcome,
        "reason": verdict.reason,
        "would_deny": verdict.would_deny,
        "vulnerability_data": verdict.vulnerability_data,
        "report_uri": verdict.report_uri,
        "resource": resource_arn or None,
        "deployment_id": deployment_id or None,
        "account": account or None,
        "region": region or None,
    }
    return _fit(EventEntry(GATE_DECISION, detail, _arns(resource_arn or "")))


def put_events(
    client: Any,
    entries: Iterable[EventEntry],
    *,
    bus: str = "",
    sleep: Callable[[float], None] = time.sleep,
    attempts: int = ATTEMPTS,
    base_delay: float = 0.5,
) -> SendResult:
    """Send in calls of at most 10; resend failed entries with retryable codes, with backoff."""
    pending = list(entries)
    failures: list[str] = []
    sent = calls = 0
    for too_big in [e for e in pending if e.size() > MAX_ENTRY_BYTES]:
        failures.append(f"{too_big.detail_type}: {too_big.size()} bytes, over 256 KB")
    pending = [e for e in pending if e.size() <= MAX_ENTRY_BYTES]
    for start in range(0, len(pending), MAX_ENTRIES):
        chunk = pending[start : start + MAX_ENTRIES]
        for attempt in range(attempts):
            if attempt:
                sleep(base_delay * 2 ** (attempt - 1))
            calls += 1
            try:
                answer = client.put_events(Entries=[e.request(bus) for e in chunk])
            except (ClientError, BotoCoreError) as exc:
                if attempt + 1 < attempts and aws_error_code(exc) in _CALL_RETRYABLE:
                    continue
                failures += [f"{e.detail_type}: {aws_error_text(exc)}" for e in chunk]
                break
            results = answer.get("Entries", [])
            retry: list[EventEntry] = []
            for entry, result in zip(chunk, results, strict=False):
                code = result.get("ErrorCode")
                if not code:
                    sent += 1
                elif code in RETRYABLE and attempt + 1 < attempts:
                    retry.append(entry)
                else:
                    message = result.get("ErrorMessage", "")
                    failures.append(f"{entry.detail_type}: {code}: {message}".rstrip(": "))
            chunk = retry
            if not chunk:
                break
    return SendResult(sent, calls, tuple(failures))


def _fit(entry: EventEntry) -> EventEntry:
    """Drop top findings (last first) until the entry fits; the rest of the detail is small."""
    detail = dict(entry.detail)
    while entry.size() > MAX_ENTRY_BYTES and detail.get("top_findings"):
        detail["top_findings"] = detail["top_findings"][:-1]
        entry = EventEntry(entry.detail_type, dict(detail), entry.resources)
    return entry


def _arns(value: str) -> tuple[str, ...]:
    return (value,) if value.startswith("arn:") else ()
