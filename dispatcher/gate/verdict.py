"""The gate's decision: one image's scan-cache record, the settings and the clock -> a verdict.

Pure: reading the cache and starting scans are the caller's (`dispatcher/gate/core.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from dispatcher.gate.breakglass import BreakGlass
from dispatcher.gate.settings import ALLOW, QSCANNER, GateSettings
from dispatcher.imageref import ImageRef
from dispatcher.scancache import (
    STATUS_ERROR,
    STATUS_FAILED,
    STATUS_IN_FLIGHT,
    STATUS_PASSED,
    CachedScan,
)

OUTCOMES = ("allow", "deny", "pending", "unknown")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GateVerdict:
    """One image's answer; `would_deny` marks an audit-mode allow that enforce mode would deny."""

    image: str
    outcome: str  # one of OUTCOMES
    reason: str
    report_uri: str | None = None
    vulnerability_data: bool = True
    would_deny: bool = False

    @property
    def final(self) -> bool:
        """True for allow and deny: waiting longer does not change them."""
        return self.outcome in ("allow", "deny")

    def as_dict(self) -> dict[str, object]:
        """The JSON object `deployscan verdict --json` prints."""
        return {
            "image": self.image,
            "verdict": self.outcome,
            "reason": self.reason,
            "report_uri": self.report_uri,
            "vulnerability_data": self.vulnerability_data,
            "would_deny": self.would_deny,
        }


def decide(
    image: ImageRef | str,
    cached: CachedScan | None,
    settings: GateSettings,
    now: float,
    breakglass: Iterable[BreakGlass] = (),
) -> GateVerdict:
    """The verdict for `image` (or zip code, named by a string) from its live scan-cache record
    (None: never scanned, or expired); break-glass entries cover images only."""
    for entry in breakglass:
        if isinstance(image, ImageRef) and entry.covers(image, now):
            log.warning("break-glass allow for %s: %s", str(image)[:300], entry.reason)
            return _answer(image, "allow", f"break-glass: {entry.reason}", settings)
    inventory_only = cached is not None and not cached.vulnerability_data
    completed = cached is not None and cached.status in (STATUS_PASSED, STATUS_FAILED)
    if cached is None or (settings.scanner == QSCANNER and inventory_only and completed):
        # With QScanner configured, an inventory-only verdict does not count as scanned (an
        # error or a running scan has no vulnerability data either way: not this rule's case).
        never = "never scanned (or the scan expired)"
        reason = never if cached is None else "only an inventory-only scan; QScanner is configured"
        return _answer(image, "unknown", reason, settings)
    uri = cached.report_uri if cached.report_uri not in (None, "-") else None
    if cached.status == STATUS_IN_FLIGHT:
        build = cached.build_id or "starting"
        return _answer(image, "pending", f"scan in progress (build {build})", settings, uri)
    counts = ", ".join(f"{k} {n}" for k, n in sorted(cached.counts.items()) if n)
    why = f": {cached.reason}" if cached.reason else ""
    if cached.status == STATUS_PASSED:
        return _answer(image, "allow", f"scan passed {cached.when}{why}", settings, uri)
    if cached.status == STATUS_FAILED:
        detail = f"scan failed the policy {cached.when}" + (f" ({counts})" if counts else "")
        return _answer(image, "deny", detail + why, settings, uri)
    problem = f"scan status {cached.status or 'missing'}"
    if cached.status == STATUS_ERROR:
        problem = f"the last scan ended in error {cached.when} (build {cached.build_id or '-'})"
    return on_error(image, problem, settings, uri)


def on_error(
    image: ImageRef | str, problem: str, settings: GateSettings, report_uri: str | None = None
) -> GateVerdict:
    """The verdict when the gate could not find out (GATE_ON_ERROR decides)."""
    outcome = "allow" if settings.on_error == ALLOW else "deny"
    reason = f"{problem}; GATE_ON_ERROR={settings.on_error}"
    return _answer(image, outcome, reason, settings, report_uri)


def on_timeout(verdict: GateVerdict, settings: GateSettings) -> GateVerdict:
    """A verdict still pending/unknown after the wait, settled by GATE_ON_TIMEOUT (for hooks)."""
    if verdict.final:
        return verdict
    outcome = "allow" if settings.on_timeout == ALLOW else "deny"
    reason = f"{verdict.reason}; waited, GATE_ON_TIMEOUT={settings.on_timeout}"
    return _answer(verdict.image, outcome, reason, settings, verdict.report_uri)


def _answer(
    image: ImageRef | str,
    outcome: str,
    reason: str,
    settings: GateSettings,
    report_uri: str | None = None,
) -> GateVerdict:
    """Apply the scanner's vulnerability-data note and audit mode to an outcome."""
    vulnerability_data = settings.scanner == QSCANNER
    if not vulnerability_data:
        reason += "; no vulnerability data (syft: inventory only)"
    would_deny = outcome == "deny" and not settings.enforcing
    if would_deny:
        outcome, reason = "allow", f"audit mode, would deny: {reason}"
        log.warning("gate audit: would deny %s: %s", str(image)[:300], reason)
    return GateVerdict(str(image), outcome, reason, report_uri, vulnerability_data, would_deny)
