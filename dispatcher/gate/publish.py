"""The gate's final decisions as EventBridge "Gate Decision" events, one per image.

Publishing is a side channel: it never changes an answer and never raises (a hook that crashes
rolls the deploy back), so a failed PutEvents is a warning in the log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dispatcher.eventbus import gate_decision, put_events
from dispatcher.gate.verdict import GateVerdict

ATTEMPTS = 2  # a hook answers within seconds: one retry, then the warning
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DecisionEvents:
    """Where the gate's decisions go: an EventBridge client, the bus (empty: the default bus)."""

    client: Any
    bus: str
    mode: str
    account: str | None = None
    region: str | None = None
    sleep: Callable[[float], None] = time.sleep

    def publish(self, adapter: str, subject: str, verdicts: Sequence[GateVerdict]) -> None:
        """Send one event per image's verdict; log (never raise) what did not go out."""
        resource = subject if subject.startswith("arn:") else None
        deployment = None if resource or subject == "-" else subject[:200]
        entries = [
            gate_decision(
                verdict,
                gate=adapter,
                mode=self.mode,
                account=self.account,
                region=self.region,
                resource_arn=resource,
                deployment_id=deployment,
            )
            for verdict in verdicts
        ]
        if not entries:
            return
        try:
            result = put_events(
                self.client, entries, bus=self.bus, attempts=ATTEMPTS, sleep=self.sleep
            )
        except Exception as exc:  # the decision stands; the event is lost and said so
            log.warning("Gate Decision events not sent: %s", type(exc).__name__)
            return
        for failure in result.failures:
            log.warning("Gate Decision event not sent: %s", failure[:300])
