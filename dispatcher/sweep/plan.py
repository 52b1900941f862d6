"""Planning one unit: running images -> per digest, where it runs and build or skip (and why).

Pure: the caller reads the scan cache first (`keys` says what to read) and passes the answers in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dispatcher import model as m
from dispatcher.buildvars import CODE_KINDS
from dispatcher.ddbvalues import utc_text
from dispatcher.errors import DeployscanError, ImageRefError
from dispatcher.imageref import ImageRef, is_digest
from dispatcher.scancache import STATUS_ERROR, STATUS_IN_FLIGHT, code_key, indexed_key
from dispatcher.scanitems import InUseEntry, LastScan, Place
from dispatcher.settings import Settings
from dispatcher.sweep.inventory import Inventory, Running
from dispatcher.sweep.messages import Unit, image_event

NEVER_SCANNED = "never-scanned"
RESCAN_DUE = "rescan-due"
LAST_SCAN_ERROR = "last-scan-error"
SCANNED_RECENTLY = "scanned-recently"
DIGEST_UNKNOWN = "digest-unknown"
UNIT_UNREACHABLE = "account-unreachable"
UNIT_FAILED = "unit-failed"
MAX_WHERE = 20  # places a decision line lists (the index keeps up to MAX_PLACES)


@dataclass(frozen=True)
class SweepLine:
    """One running image's (or zip code's) decision: the contract's `deployscan sweep` line."""

    action: str  # build | skip
    image: str | None
    digest: str | None  # zip code: its `code_key`
    reason: str
    account: str
    region: str
    where: tuple[Place, ...] = ()
    last_scanned: float | None = None
    code: m.Code | None = None  # zip code: the line names it instead of an image

    def to_dict(self) -> dict[str, Any]:
        """The JSON object printed for this line (zip code: `kind`, `arn` and `code_sha256`
        like a dispatch line, no image or digest)."""
        if self.code is not None:
            code = {"kind": self.code.kind, "arn": self.code.arn[: m.MAX_IMAGE_TEXT],
                    "code_sha256": self.code.code_sha256}  # fmt: skip
            return self._fields() | {"image": None, "digest": None} | code
        return self._fields()

    def _fields(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "image": self.image[: m.MAX_IMAGE_TEXT] if self.image else None,
            "digest": self.digest,
            "reason": self.reason,
            "account": self.account,
            "region": self.region,
            "where": [place_dict(p) for p in self.where[:MAX_WHERE]],
            "last_scanned": iso(self.last_scanned),
        }


@dataclass
class _Digest:
    image: str
    first: Running
    places: dict[str, Place] = field(default_factory=dict)


@dataclass(frozen=True)
class Grouped:
    """A unit's running images by digest, and the lines of those that cannot be indexed."""

    digests: Mapping[str, _Digest]
    skipped: tuple[SweepLine, ...]

    def keys(self) -> list[str]:
        """The scan-cache keys to read before deciding."""
        return [indexed_key(d) for d in self.digests]


@dataclass(frozen=True)
class UnitPlan:
    """A unit's lines, its in-use entries and the `Sweep Image` events of what to scan."""

    lines: tuple[SweepLine, ...]
    entries: tuple[InUseEntry, ...]
    events: tuple[dict[str, Any], ...]


def group(unit: Unit, running: Iterable[Running], settings: Settings) -> Grouped:
    """Group by digest; images that are excluded, invalid or without a digest become lines."""
    refs = _Refs()
    digests: dict[str, _Digest] = {}
    skipped: list[SweepLine] = []
    for item in running:
        kind = "lambda" if item.kind in CODE_KINDS else item.kind  # zip: the function is the place
        place = Place(kind, item.place, 1 if item.kind == "ecs" else 0,
                      item.launch_type, item.platform or "")  # fmt: skip
        code = item.kind in CODE_KINDS
        reason, digest = _classify_code(item, settings) if code else _classify(item, refs, settings)
        if reason or digest is None:
            text = item.image if isinstance(item.image, str) else None
            line = SweepLine("skip", text, digest, reason, unit.account, unit.region, (place,),
                             code=_code(item))  # fmt: skip
            skipped.append(line)
            continue
        found = digests.setdefault(digest, _Digest(str(item.image), item))
        known = found.places.get(place.name)
        found.places[place.name] = place if known is None else _merge(known, place)
    return Grouped(digests, tuple(skipped))


def decide(
    unit: Unit,
    grouped: Grouped,
    *,
    scans: Mapping[str, LastScan],
    remembered: Mapping[str, LastScan],
    settings: Settings,
    now: float,
    sweep_id: str,
) -> UnitPlan:
    """Build or skip each digest: never scanned, last scan an error, or older than the rescan
    age builds; a scan in flight or recent enough skips."""
    lines, entries, events = list(grouped.skipped), [], []
    rescan = settings.sweep.rescan_after_seconds
    for digest, found in sorted(grouped.digests.items()):
        verdict = scans.get(indexed_key(digest))
        last = _newest(verdict, remembered.get(digest))
        if verdict is not None and verdict.status == STATUS_IN_FLIGHT and verdict.lease_until > now:
            action, reason = "skip", m.SCAN_IN_PROGRESS
        elif last is None:
            action, reason = "build", NEVER_SCANNED
        elif last.status == STATUS_ERROR:
            action, reason = "build", LAST_SCAN_ERROR
        elif now - last.at > rescan:
            action, reason = "build", RESCAN_DUE
        else:
            action, reason = "skip", SCANNED_RECENTLY
        places = tuple(sorted(found.places.values(), key=lambda p: (-p.tasks, p.kind, p.name)))
        at = last.at if last is not None else None
        code = _code(found.first)
        lines.append(SweepLine(action, found.image, digest, reason, unit.account, unit.region,
                               places, at, code))  # fmt: skip
        entries.append(
            InUseEntry(digest, unit.account, unit.region, found.image, places, now, last)
        )
        if action == "build" and code is not None:
            detail = {"kind": code.kind, "arn": code.arn, "codeSha256": code.code_sha256,
                      "digest": digest, "resourceArn": found.first.resource_arn}  # fmt: skip
            events.append(image_event(unit, {k: v for k, v in detail.items() if v}, sweep_id))
        elif action == "build":
            first = found.first
            detail = {"image": found.image, "digest": digest, "platform": first.platform,
                      "resourceArn": first.resource_arn, "container": first.container,
                      "cluster": first.cluster, "kind": first.kind}  # fmt: skip
            events.append(image_event(unit, {k: v for k, v in detail.items() if v}, sweep_id))
    return UnitPlan(tuple(lines), tuple(entries), tuple(events))


def _classify(item: Running, refs: _Refs, settings: Settings) -> tuple[str, str | None]:
    """("", digest) for an image to index, else (the skip reason, the digest if known)."""
    filters = settings.filters
    if item.kind == "ecs" and not filters.cluster_allowed(item.cluster):
        return m.EXCLUDED_CLUSTER, None
    if item.kind == "lambda" and not filters.function_allowed(item.resource_arn or ""):
        return m.EXCLUDED_FUNCTION, None
    ref = refs.parse(item.image)
    if ref is None:
        return m.INVALID_IMAGE_REFERENCE, None
    digest = item.digest if is_digest(item.digest) else ref.digest
    if not isinstance(digest, str):
        return DIGEST_UNKNOWN, None
    if not filters.repository_allowed(ref.name, ref.repository):
        return m.EXCLUDED_REPOSITORY, digest
    return "", digest


def _classify_code(item: Running, settings: Settings) -> tuple[str, str | None]:
    """Zip code: the function filters apply to its code and to its layers."""
    if not settings.filters.function_allowed(item.resource_arn or ""):
        return m.EXCLUDED_FUNCTION, None
    try:
        return "", code_key(str(item.digest))
    except DeployscanError:
        return m.INVALID_EVENT, None


def _code(item: Running) -> m.Code | None:
    """The zip code a listed item is (None for an image)."""
    if item.kind not in CODE_KINDS:
        return None
    return m.Code(item.kind, str(item.image), str(item.digest))


def _newest(verdict: LastScan | None, remembered: LastScan | None) -> LastScan | None:
    """The newest finished scan (passed, failed or error) of the two records."""
    done = [s for s in (verdict, remembered) if s is not None and s.status != STATUS_IN_FLIGHT]
    return max(done, key=lambda s: s.at) if done else None


def _merge(a: Place, b: Place) -> Place:
    launch = a.launch_type if a.launch_type == b.launch_type else "mixed"
    platform = a.platform if a.platform == b.platform else "mixed"
    return Place(a.kind, a.name, a.tasks + b.tasks, launch, platform)


class _Refs:
    """`ImageRef.parse`, memoised: a busy cluster repeats its references."""

    def __init__(self) -> None:
        self._known: dict[str, ImageRef | None] = {}

    def parse(self, image: object) -> ImageRef | None:
        if not isinstance(image, str):
            return None
        if image not in self._known:
            try:
                self._known[image] = ImageRef.parse(image)
            except ImageRefError:
                self._known[image] = None
        return self._known[image]


def place_dict(place: Place) -> dict[str, Any]:
    """A place as JSON: kind and name, with tasks, launch type and platform when known."""
    out: dict[str, Any] = {"kind": place.kind, "name": place.name}
    if place.kind == "ecs":
        out["tasks"] = place.tasks
    if place.launch_type:
        out["launch_type"] = place.launch_type
    if place.platform:
        out["platform"] = place.platform
    return out


def iso(epoch: float | None) -> str | None:
    """Epoch seconds as ISO-8601 UTC (None when unknown)."""
    if not epoch:
        return None
    return utc_text(epoch)


def inventory_lines(unit: Unit, inventory: Inventory) -> list[str]:
    """What the listing could not read, for the log."""
    return [f"{unit.account}/{unit.region}: {note}" for note in inventory.notes[:20]]
