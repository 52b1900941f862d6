"""The policy: which findings break the build, and why. Pure: findings in, decision out.

Limits per severity: `--max-<severity> N` allows up to N findings of that severity; otherwise a
severity at or above `--fail-on` allows none, and one below it is unlimited. An ignore entry
(a QID or a CVE, with an expiry date and a reason) removes matching findings from the count until
it expires. A QScanner DENY fails; AUDIT passes with a warning. An inventory-only scan has no
vulnerability data, so the policy is not evaluated (decision `not-evaluated`, status passed),
unless a package is on the deny list: a `denied-package` finding always fails, whatever the
limits and scan mode, and only an ignore entry naming its own id (`DENY-<name>-<version>`) hides it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from scanner_runner.denylist import KIND_DENIED, DenyEntry
from scanner_runner.errors import PolicyError
from scanner_runner.listfile import list_items
from scanner_runner.report import (
    SEVERITIES,
    SEVERITY_RANK,
    STATUS_FAILED,
    STATUS_PASSED,
    Finding,
    PolicyResult,
)

FAIL_ON_CHOICES: tuple[str, ...] = (*SEVERITIES, "none")

DECISION_PASS = "pass"  # noqa: S105 (a decision name, not a password)
DECISION_FAIL = "fail"
DECISION_AUDIT = "audit"
DECISION_NOT_EVALUATED = "not-evaluated"
DECISION_ERROR = "error"

_CVE_RE = re.compile(r"^CVE-\d{4}-\d{4,}$")
_QID_RE = re.compile(r"^(?:QID-?)?(\d{1,12})$")
_SECRET_RULE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


@dataclass(frozen=True)
class IgnoreEntry:
    """Accept one QID or CVE until `expires` (inclusive), for a stated reason."""

    id: str
    expires: date
    reason: str


@dataclass(frozen=True)
class Policy:
    """The thresholds, the ignore list and the package deny list."""

    fail_on: str = "high"
    max_critical: int | None = None
    max_high: int | None = None
    max_medium: int | None = None
    ignores: tuple[IgnoreEntry, ...] = ()
    tags: tuple[str, ...] = ()
    deny: tuple[DenyEntry, ...] = ()

    def __post_init__(self) -> None:
        if self.fail_on not in FAIL_ON_CHOICES:
            raise PolicyError(f"--fail-on must be one of {', '.join(FAIL_ON_CHOICES)}")
        for name in ("max_critical", "max_high", "max_medium"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise PolicyError(f"--{name.replace('_', '-')} must be zero or more")

    def limits(self) -> dict[str, int | None]:
        """Allowed count per severity (None = unlimited)."""
        floor = SEVERITY_RANK.get(self.fail_on, 99)
        explicit = {"critical": self.max_critical, "high": self.max_high, "medium": self.max_medium}
        limits: dict[str, int | None] = {}
        for severity in SEVERITIES:
            given = explicit.get(severity)
            if given is not None:
                limits[severity] = given
            else:
                limits[severity] = 0 if SEVERITY_RANK[severity] >= floor else None
        return limits

    def thresholds(self) -> dict[str, Any]:
        """What the report records about the applied policy."""
        return {
            "fail_on": self.fail_on,
            "max_critical": self.max_critical,
            "max_high": self.max_high,
            "max_medium": self.max_medium,
            "limits": self.limits(),
            "policy_tags": list(self.tags),
            "ignore_entries": len(self.ignores),
        }


def normalise_id(value: str) -> str:
    """`QID-123`/`123` -> `123`; CVE ids upper-cased; anything else is rejected."""
    text = value.strip().upper()
    match = _QID_RE.match(text)
    if match:
        return match.group(1)
    if _CVE_RE.match(text):
        return text
    if _SECRET_RULE_RE.match(value.strip()):
        return value.strip()
    raise PolicyError(f"ignore entry id {value!r} is not a QID, CVE or rule id")


def parse_ignore_list(text: str, source: str = "ignore list") -> tuple[IgnoreEntry, ...]:
    """Parse the JSON ignore list: `{"ignore": [{"id", "expires": "YYYY-MM-DD", "reason"}]}`."""
    items = list_items(text, source, "ignore")
    entries = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise PolicyError(f"{source}: entry {index} is not an object")
        try:
            raw_id, raw_expiry, reason = item["id"], item["expires"], item["reason"]
        except KeyError as exc:
            raise PolicyError(f"{source}: entry {index} lacks {exc.args[0]!r}") from exc
        if not isinstance(raw_id, str | int) or not isinstance(reason, str) or not reason.strip():
            raise PolicyError(f"{source}: entry {index} needs a string id and a non-empty reason")
        try:
            expires = date.fromisoformat(str(raw_expiry))
        except ValueError as exc:
            raise PolicyError(f"{source}: entry {index} expires {raw_expiry!r} is no date") from exc
        entries.append(IgnoreEntry(normalise_id(str(raw_id)), expires, reason.strip()))
    return tuple(entries)


def evaluate(
    findings: Iterable[Finding],
    policy: Policy,
    *,
    today: date,
    verdict: str = "",
    vulnerability_data: bool = True,
) -> tuple[tuple[Finding, ...], PolicyResult, str]:
    """Apply the policy: marked findings, the decision with its reason, and the report status."""
    active = {e.id: e for e in policy.ignores if e.expires >= today}
    warnings = [
        f"ignore entry {e.id} expired on {e.expires.isoformat()} and no longer applies"
        for e in policy.ignores
        if e.expires < today
    ]
    marked = [_apply_ignore(f, active) for f in findings]
    ignored = sum(1 for f in marked if f.ignored)
    thresholds = policy.thresholds()
    # A deny-list match fails on its own, outside the severity limits, with or without
    # vulnerability data: it is a known compromised release, not a risk to weigh.
    denied = sorted({f.id for f in marked if f.kind == KIND_DENIED and not f.ignored})
    deny_reason = f"deny list: {len(denied)} denied package(s) ({', '.join(denied[:5])})"

    if not vulnerability_data:
        marked = [_deny_violation(f) for f in marked]
        if denied:
            reason = f"{deny_reason}; inventory only: no vulnerability data for anything else"
            result = PolicyResult(DECISION_FAIL, reason, thresholds, tuple(warnings), ignored)
            return tuple(marked), result, STATUS_FAILED
        reason = "inventory only: no vulnerability data, so the policy was not evaluated"
        result = PolicyResult(DECISION_NOT_EVALUATED, reason, thresholds, tuple(warnings), ignored)
        return tuple(marked), result, STATUS_PASSED

    counts = dict.fromkeys(SEVERITIES, 0)
    for finding in marked:
        if not finding.ignored and finding.kind != KIND_DENIED:
            counts[finding.severity] += 1
    limits = policy.limits()
    broken = {s for s in SEVERITIES if _over(counts[s], limits[s])}
    marked = [
        replace(f, violation=True) if (not f.ignored and f.severity in broken) else f
        for f in marked
    ]
    marked = [_deny_violation(f) for f in marked]
    reasons = [_limit_reason(s, counts[s], limits[s]) for s in SEVERITIES if s in broken]
    if denied:
        reasons.insert(0, deny_reason)
    if verdict == "DENY":
        reasons.insert(0, "QScanner policy evaluation returned DENY")
    if verdict == "AUDIT":
        warnings.append("QScanner policy evaluation returned AUDIT (no policy was evaluated)")

    if reasons:
        decision, status = DECISION_FAIL, STATUS_FAILED
        reason = "; ".join(reasons)
    else:
        decision = DECISION_AUDIT if verdict == "AUDIT" else DECISION_PASS
        status = STATUS_PASSED
        reason = _pass_reason(policy, counts, verdict)
    result = PolicyResult(decision, reason, thresholds, tuple(warnings), ignored)
    return tuple(marked), result, status


def _apply_ignore(finding: Finding, active: Mapping[str, IgnoreEntry]) -> Finding:
    if not active:
        return finding
    for key in (finding.id, *finding.cves):
        entry = active.get(key) or active.get(key.upper())
        if entry is not None:
            note = f"{entry.reason} (until {entry.expires.isoformat()})"
            return replace(finding, ignored=note)
    return finding


def _deny_violation(finding: Finding) -> Finding:
    if finding.kind == KIND_DENIED and not finding.ignored:
        return replace(finding, violation=True)
    return finding


def _over(count: int, limit: int | None) -> bool:
    return limit is not None and count > limit


def _limit_reason(severity: str, count: int, limit: int | None) -> str:
    if limit == 0:
        return f"{count} {severity} finding{'s' if count != 1 else ''} (none allowed)"
    return f"{count} {severity} findings exceed the limit of {limit}"


def _pass_reason(policy: Policy, counts: Mapping[str, int], verdict: str) -> str:
    if verdict == "AUDIT":
        prefix = "QScanner AUDIT (passes with a warning); "
    elif verdict == "ALLOW":
        prefix = "QScanner policy ALLOW; "
    else:
        prefix = ""
    if policy.fail_on == "none":
        return prefix + "within the configured count limits"
    return prefix + f"no findings above the limits (fail on {policy.fail_on} and above)"
