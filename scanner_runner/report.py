"""The one report model (`ScanReport`) every writer renders, and its JSON load/save.

The model is plain frozen data: scanners produce `Finding`s, the policy decides, the pipeline
assembles a `ScanReport`, writers render it. `report.json` is `ScanReport.to_dict()`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dispatcher.buildvars import COMPUTE_TIERS
from scanner_runner import inventory, schema
from scanner_runner.atomic import write_atomic
from scanner_runner.errors import ReportError
from scanner_runner.jsontext import dumps_layered

SCHEMA_VERSION = 1

# Highest first. Qualys severities 5..1 map onto these in that order.
SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low", "info")
SEVERITY_RANK: dict[str, int] = {name: len(SEVERITIES) - i for i, name in enumerate(SEVERITIES)}

STATUS_PASSED = "passed"
STATUS_FAILED = "failed"
STATUS_ERROR = "error"
STATUSES = (STATUS_PASSED, STATUS_FAILED, STATUS_ERROR)

MODE_INVENTORY_ONLY = "inventory-only"


def iso(moment: datetime) -> str:
    """UTC timestamp as in the report: `2026-03-01T10:00:00Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def severity_from_qualys(level: int) -> str:
    """Map a Qualys severity (5 highest .. 1) to a severity name; out-of-range clamps."""
    level = max(1, min(5, int(level)))
    return SEVERITIES[5 - level]


@dataclass(frozen=True)
class Finding:
    """One vulnerability (or secret) in one package of the image."""

    id: str
    severity: str
    title: str = ""
    cves: tuple[str, ...] = ()
    package: str = ""
    installed_version: str = ""
    fixed_version: str = ""
    layer: str = ""
    kind: str = "vulnerability"
    # Set by the policy: why this finding breaks the policy, or why it is ignored.
    violation: bool = False
    ignored: str = ""

    @property
    def rank(self) -> int:
        """Sort key: higher is more severe."""
        return SEVERITY_RANK.get(self.severity, 0)


@dataclass(frozen=True)
class ImageInfo:
    """What was scanned."""

    ref: str
    registry: str = ""
    repository: str = ""
    tag: str = ""
    digest: str = ""
    platform: str = ""
    image_id: str = ""
    os: str = ""

    @property
    def identity(self) -> str:
        """What identifies the scanned content: the manifest digest, else the image id ("")."""
        return self.digest or self.image_id


@dataclass(frozen=True)
class LambdaInfo:
    """A zip function or layer version that was scanned (`image` then carries its ARN as `ref`,
    its name as `repository` and `sha256:<hex>` of its code as `digest`)."""

    kind: str  # lambda-zip | lambda-layer
    arn: str
    version: str = ""
    runtime: str = ""  # python3.12, nodejs20.x … (a layer: its compatible runtimes)
    code_sha256: str = ""  # base64, as Lambda reports it
    layers: tuple[str, ...] = ()  # the function's layer version ARNs, in order
    layer_code_sha256: tuple[str, ...] = ()  # and their CodeSha256, same order


@dataclass(frozen=True)
class TriggerInfo:
    """Why it was scanned (from the build variables)."""

    source: str = "manual"
    account: str = ""
    region: str = ""
    resource_arn: str = ""
    event_id: str = ""
    compute_tier: str = ""  # COMPUTE_TIER: lambda | ec2, empty when not run by a scan project


@dataclass(frozen=True)
class ScannerInfo:
    """Which scanner ran, in which mode (`get-report`, `evaluate-policy`, `inventory-only`)."""

    name: str
    version: str = ""
    mode: str = ""
    verdict: str = ""  # QScanner policy verdict: ALLOW | DENY | AUDIT, when evaluated


@dataclass(frozen=True)
class PolicyResult:
    """The decision and its reason; `thresholds` records the limits that were applied."""

    decision: str
    reason: str
    thresholds: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    ignored: int = 0


@dataclass(frozen=True)
class ScanReport:
    """The normalised result of one scan: the single source for every writer."""

    image: ImageInfo
    trigger: TriggerInfo
    scanner: ScannerInfo
    started_at: str
    finished_at: str
    status: str
    policy: PolicyResult
    findings: tuple[Finding, ...] = ()
    vulnerability_data: bool = True
    inventory_packages: int | None = None
    packages: tuple[inventory.InventoryItem, ...] = ()  # listed when no vulnerability data
    build_id: str = ""
    report_uri: str = ""
    error: str = ""
    lambda_code: LambdaInfo | None = None  # "lambda" in report.json: set for zip code
    schema_version: int = SCHEMA_VERSION
    where: str = ""  # where the digest runs, from the sweep's in-use index ("" when unknown)
    workloads: tuple[str, ...] = ()  # ARNs of the ECS services / functions the index knows

    @property
    def summary(self) -> dict[str, int]:
        """Counts per severity of the findings that are not ignored."""
        counts = dict.fromkeys(SEVERITIES, 0)
        for finding in self.findings:
            if not finding.ignored and finding.severity in counts:
                counts[finding.severity] += 1
        return counts

    @property
    def violations(self) -> tuple[Finding, ...]:
        """Findings that break the policy."""
        return tuple(f for f in self.findings if f.violation)

    def sorted_findings(self) -> tuple[Finding, ...]:
        """Findings most severe first, then those with a fix, violations before others, then by
        id and package (sorted once per report: every writer asks)."""
        return self._sorted_findings

    @functools.cached_property
    def _sorted_findings(self) -> tuple[Finding, ...]:
        return tuple(sorted(self.findings, key=_display_order))

    def with_(self, **changes: Any) -> ScanReport:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The `report.json` document (schema_version first, summary derived)."""
        policy = asdict(self.policy)
        policy["warnings"] = list(self.policy.warnings)
        return {
            "schema_version": self.schema_version,
            "image": asdict(self.image),
            "trigger": asdict(self.trigger),
            **({"where": self.where} if self.where else {}),  # optional: only when known
            **({"workloads": list(self.workloads)} if self.workloads else {}),
            "scanner": asdict(self.scanner),
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "status": self.status,
            "summary": self.summary,
            "policy": policy,
            "vulnerability_data": self.vulnerability_data,
            "inventory_packages": self.inventory_packages,
            "build_id": self.build_id,
            "report_uri": self.report_uri,
            "error": self.error,
            "findings": [_finding_dict(f) for f in self.findings],
            "packages": inventory.to_list(self.packages),
        } | ({"lambda": _lambda_dict(self.lambda_code)} if self.lambda_code else {})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScanReport:
        """Rebuild a report from `to_dict()` output, every field type-checked, so no writer ever
        sees a wrong type; ReportError naming the first bad field."""
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ReportError(f"unsupported schema_version {data.get('schema_version')!r}")
        try:
            built = {
                "image": schema.build(ImageInfo, data.get("image"), "image"),
                "trigger": schema.build(TriggerInfo, data.get("trigger"), "trigger"),
                "scanner": schema.build(ScannerInfo, data.get("scanner"), "scanner"),
                "policy": _policy_from(data.get("policy")),
                "findings": _findings_from(data.get("findings", [])),
                "packages": inventory.from_list(data.get("packages", [])),
            }
            if data.get("lambda") is not None:
                built["lambda_code"] = schema.build(LambdaInfo, data["lambda"], "lambda")
            # `summary` is derived from the findings; keys a later version adds are not read.
            known = {k: v for k, v in data.items() if k in _REPORT_FIELDS and k not in built}
            report = schema.build(cls, known, "report", built=built)
        except schema.SchemaError as exc:
            raise ReportError(f"not a deployscan report: {exc}") from exc
        if report.status not in STATUSES:
            raise ReportError(f"unknown report status {report.status!r}")
        if report.trigger.compute_tier not in ("", *COMPUTE_TIERS):
            raise ReportError(f"unknown compute tier {report.trigger.compute_tier[:40]!r}")
        return report


_REPORT_FIELDS = frozenset(ScanReport.__dataclass_fields__) - {"schema_version", "lambda_code"}


def _lambda_dict(info: LambdaInfo) -> dict[str, Any]:
    data = asdict(info)
    data["layers"], data["layer_code_sha256"] = list(info.layers), list(info.layer_code_sha256)
    return data


MAX_THRESHOLDS_DEPTH = 3  # {"limits": {"high": 0}} is 2; anything much deeper is not ours


def _policy_from(data: Any) -> PolicyResult:
    policy = schema.build(PolicyResult, data, "policy")
    if schema.depth(policy.thresholds) > MAX_THRESHOLDS_DEPTH:
        raise schema.SchemaError("policy.thresholds nests too deeply")
    return policy


def _findings_from(data: Any) -> tuple[Finding, ...]:
    if not isinstance(data, list):
        raise schema.SchemaError("findings is not a list")
    findings = []
    for index, item in enumerate(data):
        finding = schema.build(Finding, item, f"findings[{index}]")
        if finding.severity not in SEVERITY_RANK:
            raise schema.SchemaError(f"findings[{index}] has unknown severity {finding.severity!r}")
        findings.append(finding)
    return tuple(findings)


def _display_order(f: Finding) -> tuple[bool, int, bool, bool, str, str]:
    # Severity first, then what can be fixed now (an upgrade exists) before what cannot.
    return (bool(f.ignored), -f.rank, not f.fixed_version, not f.violation, f.id, f.package)


_FINDING_FIELDS = tuple(Finding.__dataclass_fields__)


def _finding_dict(finding: Finding) -> dict[str, Any]:
    data = {name: getattr(finding, name) for name in _FINDING_FIELDS}
    data["cves"] = list(finding.cves)
    return data


def dumps(report: ScanReport) -> str:
    """`report.json` text: the document indented, one finding per line."""
    return dumps_layered(report.to_dict(), levels=2) + "\n"


def save(report: ScanReport, path: Path) -> None:
    """Save `report.json` atomically."""
    write_atomic(path, dumps(report))


def load(path: Path) -> ScanReport:
    """Load a saved `report.json`; ReportError when missing, unreadable or not a report."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ReportError(f"no report at {path}") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"cannot read report {path}: {exc}") from exc
    except RecursionError as exc:
        raise ReportError(f"cannot read report {path}: JSON nests too deeply") from exc
    if not isinstance(data, dict):
        raise ReportError(f"not a deployscan report: {path}")
    return ScanReport.from_dict(data)
