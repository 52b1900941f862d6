"""The values the scan-cache table's operations take and answer (dispatcher/scancache/)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Held:
    """Someone else holds the key: a completed scan still fresh, or a build in flight."""

    key: str
    completed: bool
    # False: an in-flight lease with no build id yet. Its holder is between the lease and
    # StartBuild, or crashed there; the event must come back later instead of being dropped.
    settled: bool = True


@dataclass(frozen=True)
class Replaced:
    """The item a new lease took over; `unfinished`: its build recorded an error or died."""

    unfinished: bool
    tier: str | None


@dataclass(frozen=True)
class Taken:
    """The lease is ours; `replaced` is the item it took over, if there was one."""

    key: str
    replaced: Replaced | None = None


@dataclass(frozen=True)
class Verdict:
    """What a finished scan records: its status, counts, report and build."""

    status: str
    image: str
    build_id: str
    report_uri: str = ""
    counts: Mapping[str, int] = field(default_factory=dict)
    compute_tier: str = ""  # the tier the scan ran on, when known
    vulnerability_data: bool = True  # False: an inventory-only scan (syft)
    reason: str = ""  # the policy's reason (what the deploy gate repeats), when known


@dataclass(frozen=True)
class CachedScan:
    """A live item: a completed scan not yet expired, or an in-flight lease not yet expired."""

    key: str
    status: str
    when: str  # ISO-8601 UTC of the completion or of the lease
    build_id: str | None
    report_uri: str | None
    counts: Mapping[str, int] = field(default_factory=dict)
    vulnerability_data: bool = True  # False: the scan was inventory-only
    completed_at: float = 0.0  # epoch seconds the scan finished (0: in flight or unknown)
    reason: str = ""  # the policy's reason, when the scan recorded one
