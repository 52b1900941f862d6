"""What runs now and its latest verdict, from the in-use index: rows sorted by risk.

Shared by `deployscan status`, the posture page and the "where it runs" line of reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from dispatcher.buildvars import KIND_IMAGE, KIND_LAMBDA_LAYER, KIND_LAMBDA_ZIP
from dispatcher.scancache import (
    CODE_KEY_PREFIX,
    STATUS_FAILED,
    STATUS_IN_FLIGHT,
    STATUS_PASSED,
    ScanCacheTable,
    indexed_key,
)
from dispatcher.scanitems import InUseEntry, LastScan, Place

SEVERITIES = ("critical", "high", "medium", "low")
NEVER = "not scanned"


@dataclass(frozen=True)
class StatusRow:
    """One running digest: where it runs and its latest verdict."""

    digest: str
    image: str
    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    places: tuple[tuple[str, str, str, Place], ...]  # (account, region, place name, place)
    tasks: int
    functions: int
    verdict: str  # passed | failed | error | in-flight | not scanned
    counts: Mapping[str, int]
    scanned_at: float | None
    report_uri: str
    last_seen: float
    vulnerability_data: bool = True  # False: the last scan was inventory-only (no CVE data)

    def breaks(self, fail_on: str | None) -> bool:
        """True when this running digest breaks the policy: its scan failed, or (with
        `fail_on`) it has findings at or above that severity."""
        if self.verdict == STATUS_FAILED:
            return True
        if fail_on is None or fail_on not in SEVERITIES:
            return False
        worst = SEVERITIES[: SEVERITIES.index(fail_on) + 1]
        return any(self.counts.get(s, 0) > 0 for s in worst)

    @property
    def kind(self) -> str:
        """image, lambda-zip (a zip function's code) or lambda-layer (a layer version)."""
        if not self.digest.startswith(CODE_KEY_PREFIX):
            return KIND_IMAGE
        return KIND_LAMBDA_LAYER if ":layer:" in self.image else KIND_LAMBDA_ZIP

    @property
    def name(self) -> str:
        """What people call it: the image, else `function:<name>` / `layer:<name>:<version>`."""
        if self.kind == "image":
            return self.image
        return ":".join(self.image.split(":")[5:])

    def where(self) -> str:
        """`runs in 3 services in 2 accounts` (tasks and functions counted too)."""
        return where_text(self.places, self.accounts, self.regions)


def rows(entries: Iterable[InUseEntry], verdicts: Mapping[str, LastScan]) -> list[StatusRow]:
    """Rows per digest, the verdict item first and what the index remembers second."""
    by_digest: dict[str, list[InUseEntry]] = {}
    for entry in entries:
        by_digest.setdefault(entry.digest, []).append(entry)
    out = []
    for digest, found in by_digest.items():
        scans = [s for s in (verdicts.get(indexed_key(digest)),
                             *(e.last_scan for e in found)) if s is not None]  # fmt: skip
        done = [s for s in scans if s.status != STATUS_IN_FLIGHT]
        last = max(done, key=lambda s: s.at) if done else None
        flying = any(s.status == STATUS_IN_FLIGHT for s in scans)
        verdict = last.status if last else (STATUS_IN_FLIGHT if flying else NEVER)
        places = tuple((e.account, e.region, p.name, p) for e in found for p in e.places)
        out.append(
            StatusRow(
                digest=digest,
                image=found[0].image,
                accounts=tuple(sorted({e.account for e in found})),
                regions=tuple(sorted({e.region for e in found})),
                places=places,
                tasks=sum(p.tasks for *_, p in places),
                functions=sum(1 for *_, p in places if p.kind == "lambda"),
                verdict=verdict,
                counts=dict(last.counts) if last else {},
                scanned_at=last.at if last else None,
                report_uri=last.report_uri if last else "",
                last_seen=max(e.last_seen for e in found),
                vulnerability_data=last.vulnerability_data if last else True,
            )
        )
    return sorted(out, key=risk)


def risk(row: StatusRow) -> tuple[int, tuple[int, ...], int, str]:
    """Sort key, riskiest first: failed, then unknown (error, not scanned, in flight), then
    passed; within each, more critical/high/... findings first, then more tasks."""
    tier = {STATUS_FAILED: 0, STATUS_PASSED: 2}.get(row.verdict, 1)
    return tier, tuple(-row.counts.get(s, 0) for s in SEVERITIES), -row.tasks, row.image


def read_rows(
    cache: ScanCacheTable,
    now: float,
    *,
    accounts: Sequence[str] = (),
    regions: Sequence[str] = (),
) -> list[StatusRow]:
    """The index's live entries (narrowed to `accounts`/`regions`) with their verdicts."""
    entries = [
        e
        for e in cache.in_use(now)
        if (not accounts or e.account in accounts) and (not regions or e.region in regions)
    ]
    verdicts = cache.last_scans(indexed_key(d) for d in dict.fromkeys(e.digest for e in entries))
    return rows(entries, verdicts)


def where_text(
    places: Sequence[tuple[str, str, str, Place]], accounts: Sequence[str], regions: Sequence[str]
) -> str:
    """One phrase for where a digest runs, e.g. `runs in 3 services (7 tasks) and 1 function
    in 2 accounts, 1 region`; empty when nowhere is known."""
    services = sum(1 for *_, p in places if p.kind == "ecs")
    tasks = sum(p.tasks for *_, p in places)
    functions = sum(1 for *_, p in places if p.kind == "lambda")
    parts = []
    if services:
        parts.append(f"{_n(services, 'service')} ({_n(tasks, 'task')})")
    if functions:
        parts.append(_n(functions, "function"))
    if not parts:
        return ""
    return (f"runs in {' and '.join(parts)} in {_n(len(accounts), 'account')}, "
            f"{_n(len(regions), 'region')}")  # fmt: skip


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
