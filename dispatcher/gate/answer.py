"""What every gate adapter answers: the verdicts settled into pass, fail or wait, one message
naming each image, its verdict, the reason and the report, and the one place a decision is final.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from dispatcher.ddbvalues import utc_text
from dispatcher.errors import DeployscanError
from dispatcher.gate.publish import DecisionEvents
from dispatcher.gate.settings import GateSettings
from dispatcher.gate.verdict import GateVerdict, on_error, on_timeout

PASS = "pass"  # noqa: S105 (a gate outcome, not a password)
FAIL = "fail"
WAIT = "wait"
MAX_IMAGE_TEXT = 200  # how much of a (possibly hostile) image reference a message repeats
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settled:
    """An adapter's answer before it is shaped for ECS, CloudFormation or CodeDeploy."""

    status: str  # PASS | FAIL | WAIT
    verdicts: tuple[GateVerdict, ...]
    message: str
    error: bool = False  # the gate itself failed (GATE_ON_ERROR answered), not a verdict


def settle(
    verdicts: Sequence[GateVerdict],
    gate: GateSettings,
    *,
    first_seen: float,
    now: float,
    can_wait: bool = True,
) -> Settled:
    """Fail on any deny, pass when all allow, else wait; a verdict still open after
    GATE_MAX_WAIT_MINUTES since `first_seen` (or when the adapter cannot wait) takes
    GATE_ON_TIMEOUT."""
    answers = tuple(verdicts)
    waited = now - first_seen >= gate.max_wait_minutes * 60
    if not all(v.final for v in answers) and (waited or not can_wait):
        answers = tuple(on_timeout(v, gate) for v in answers)
    if any(v.outcome == "deny" for v in answers):
        status = FAIL
    elif all(v.outcome == "allow" for v in answers):
        status = PASS
    else:
        status = WAIT
    return Settled(status, answers, describe(status, answers, gate))


def failure(problem: str, gate: GateSettings) -> Settled:
    """The answer when the hook itself failed (bad payload, AWS error, a bug): GATE_ON_ERROR
    decides, audit mode never blocks, and the message says what went wrong."""
    verdict = on_error("(deploy)", problem[:500], gate)
    status = PASS if verdict.outcome == "allow" else FAIL
    return Settled(status, (verdict,), describe(status, (verdict,), gate), error=True)


def describe(status: str, verdicts: Sequence[GateVerdict], gate: GateSettings) -> str:
    """One message for the console: the decision first, then each image with its reason."""
    total = len(verdicts)
    if status == FAIL:
        denied = sum(v.outcome == "deny" for v in verdicts)
        head = f"blocked: {denied} of {total} image(s) denied"
    elif status == WAIT:
        open_ = sum(not v.final for v in verdicts)
        head = f"waiting for {open_} of {total} image(s)"
    else:
        head = f"allowed {total} image(s)"
        if would := sum(v.would_deny for v in verdicts):
            head += f" (audit mode: would have blocked {would})"
    lines = [f"deployscan gate ({gate.mode}) {head}"]
    for v in verdicts:
        report = f" report: {v.report_uri}" if v.report_uri else ""
        lines.append(f"{v.image[:MAX_IMAGE_TEXT]}: {v.outcome.upper()} - {v.reason}{report}")
    return "\n".join(lines)


def final(
    adapter: str, subject: str, settled: Settled, events: DecisionEvents | None = None
) -> Settled:
    """The single place an adapter's decision becomes final (pass or fail, never wait): it is
    logged here and, with `events`, published as one "Gate Decision" event per image."""
    log.info(
        json.dumps(
            {
                "gate_decision": settled.status,
                "adapter": adapter,
                "subject": subject[:300],
                "images": [v.as_dict() for v in settled.verdicts],
            },
            sort_keys=True,
        )
    )
    if events is not None:
        events.publish(adapter, subject, settled.verdicts)
    return settled


def clip(message: str, limit: int) -> str:
    """`message` cut to `limit` characters, saying that it was cut."""
    return message if len(message) <= limit else message[: limit - 14] + "\n[... cut ...]"


def guarded(body: Callable[[], Settled], gate: GateSettings) -> Settled:
    """`body()`, or the GATE_ON_ERROR answer when it raises: a crashing hook rolls the deploy
    back whatever the settings say, so a hook never raises."""
    try:
        return body()
    except DeployscanError as exc:
        return failure(f"the gate could not decide: {exc}", gate)
    except Exception as exc:  # any bug or unexpected payload: answered, logged with its trace
        log.exception("gate failure")
        return failure(f"the gate could not decide: internal error {type(exc).__name__}", gate)


def first_seen(value: object, now: float) -> float:
    """When the adapter first saw this deploy, from the ISO-8601 text it handed back earlier;
    `now` when absent, unreadable or in the future."""
    if isinstance(value, str) and len(value) <= 40:
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return now
        seen = (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
        return seen if seen <= now else now
    return now


def stamp(epoch: float) -> str:
    """Epoch seconds as the ISO-8601 text `first_seen` reads back."""
    return utc_text(epoch)
