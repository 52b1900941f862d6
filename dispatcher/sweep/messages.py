"""The sweep's own messages on the event queue, shaped as EventBridge events.

`Sweep Requested` (the schedule, the first run after stack creation, a person) fans out into one
`Sweep Unit` per account-region; a unit sends one `Sweep Image` per digest to (re)scan, which
takes the normal dispatch path (dispatcher/routes.py); `Sweep Posture` rewrites the posture page.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

SWEEP_SOURCE = "deployscan.sweep"
SWEEP_REQUESTED = "Sweep Requested"
SWEEP_UNIT = "Sweep Unit"
SWEEP_IMAGE = "Sweep Image"
SWEEP_POSTURE = "Sweep Posture"
SWEEP_DETAIL_TYPES = frozenset({SWEEP_REQUESTED, SWEEP_UNIT, SWEEP_POSTURE})  # not SWEEP_IMAGE


@dataclass(frozen=True)
class Unit:
    """One account-region: the unit of work a sweep fans out."""

    account: str
    region: str


def is_sweep_control(event: object) -> bool:
    """True for the messages the sweep handles itself (not a `Sweep Image`, which is routed)."""
    return (
        isinstance(event, dict)
        and event.get("source") == SWEEP_SOURCE
        and event.get("detail-type") in SWEEP_DETAIL_TYPES
    )


def message(detail_type: str, detail: dict[str, Any], *, event_id: str) -> str:
    """The JSON body of one sweep message."""
    return json.dumps(
        {"id": event_id, "source": SWEEP_SOURCE, "detail-type": detail_type, "detail": detail},
        separators=(",", ":"),
        sort_keys=True,
    )


def unit_message(unit: Unit, sweep_id: str) -> str:
    """The message asking for one account-region to be swept."""
    detail = {"account": unit.account, "region": unit.region, "sweep": sweep_id}
    return message(SWEEP_UNIT, detail, event_id=f"{sweep_id}-{unit.account}-{unit.region}")


def image_event(unit: Unit, detail: dict[str, Any], sweep_id: str) -> dict[str, Any]:
    """A `Sweep Image` event for one digest running in `unit` (routed like a deploy)."""
    digest = str(detail.get("digest") or detail.get("image") or "")
    tag = hashlib.sha256(digest.encode()).hexdigest()[:16]
    return {
        "id": f"{sweep_id}-{unit.account}-{unit.region}-{tag}"[:128],
        "source": SWEEP_SOURCE,
        "detail-type": SWEEP_IMAGE,
        "account": unit.account,
        "region": unit.region,
        "detail": detail,
    }
