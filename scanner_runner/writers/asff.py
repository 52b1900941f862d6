"""`findings.asff.json`: the report as AWS Security Finding Format findings (Security Hub).

One finding per reported vulnerability (or denied package, or secret) per image digest (zip code:
per code hash, `sha256:<hex>`; the function or layer version is the resource). Its `Id`
depends only on the digest, the kind, the finding id and the package, so a rescan of the same
digest updates the finding instead of adding a copy, and a finding the rescan no longer reports
can be archived by `Id` (see `scanner_runner/securityhub.py`). Ignored findings are not exported.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from scanner_runner.denylist import KIND_DENIED
from scanner_runner.report import STATUS_ERROR, Finding, ScanReport
from scanner_runner.writers.asffresources import MAX_ID, digest_of, image_resources, partition
from scanner_runner.writers.asffresources import text as _text
from scanner_runner.writers.interface import cve_url

__all__ = ["digest_of", "image_resources", "partition"]  # re-exported: part of the writer's API

SCHEMA_VERSION = "2018-10-08"
ID_PREFIX = "deployscan"
GENERATOR_PREFIX = "deployscan/"
# Used by `deployscan report --format asff` when the report names no account or region; the
# publisher always passes the importing account and region (Security Hub requires the caller's).
UNKNOWN_ACCOUNT = "000000000000"
UNKNOWN_REGION = "us-east-1"
KIND_VULNERABILITY = "vulnerability"
KIND_SECRET = "secret"  # noqa: S105 - a finding kind, not a password
TYPES = {
    KIND_VULNERABILITY: "Software and Configuration Checks/Vulnerabilities/CVE",
    KIND_DENIED: "Software and Configuration Checks/Deny List/Denied Package",
    KIND_SECRET: "Sensitive Data Identifications/Security/Secret",
}
LABELS = {
    "critical": "CRITICAL",
    "high": "HIGH",
    "medium": "MEDIUM",
    "low": "LOW",
    "info": "INFORMATIONAL",
}
# Limits from the botocore `securityhub` model's member documentation.
MAX_TITLE, MAX_DESCRIPTION, MAX_FIELD_VALUE = 256, 1024, 2048


def render(report: ScanReport) -> str:
    """The findings as a JSON array (account and region from the report's trigger)."""
    account = report.trigger.account or UNKNOWN_ACCOUNT
    region = report.trigger.region or UNKNOWN_REGION
    items = findings(report, account, region)
    if not items:
        return "[]\n"
    # One finding per line: diffable, and written by the C encoder (indent= is pure Python).
    # Every finding names the same resources: they are encoded once and spliced in.
    encoded: dict[int, str] = {}
    lines = []
    for item in items:
        resources = item["Resources"]
        shared = encoded.setdefault(id(resources), json.dumps(resources, ensure_ascii=False))
        rest = {k: v for k, v in item.items() if k != "Resources"}
        lines.append(json.dumps(rest, ensure_ascii=False)[:-1] + f', "Resources": {shared}}}')
    return "[\n  " + ",\n  ".join(lines) + "\n]\n"


def findings(report: ScanReport, account: str, region: str) -> list[dict[str, Any]]:
    """ASFF findings of the report for Security Hub in `account`/`region` (none for an error)."""
    if report.status == STATUS_ERROR:
        return []
    resources = image_resources(report)
    common = _report_fields(report)
    reported = [f for f in report.sorted_findings() if not f.ignored]
    out: dict[str, dict[str, Any]] = {}
    for finding in reported:
        item = _finding(report, finding, (account, region), resources, common)
        out.setdefault(item["Id"], item)  # the same id twice would be one finding anyway
    return list(out.values())


@functools.lru_cache(maxsize=16)
def _product_arn(account: str, region: str) -> str:
    return product_arn(account, region)


def product_arn(account: str, region: str) -> str:
    """The account's own ("default") product ARN, the one a customer's findings go to."""
    return f"arn:{partition(region)}:securityhub:{region}:{account}:product/{account}/default"


def id_prefix(digest: str, kind: str = "") -> str:
    """`deployscan/<digest>/` (plus `<kind>/`): every finding of that digest starts with it."""
    return f"{ID_PREFIX}/{digest}/" + (f"{kind}/" if kind else "")


def finding_id(digest: str, finding: Finding) -> str:
    """The stable finding id: digest, kind, our id and package (hashed tail when too long)."""
    tail = f"{finding.id}/{finding.package}"
    text = id_prefix(digest, _kind(finding)) + tail
    if len(text) > MAX_ID:
        text = id_prefix(digest, _kind(finding)) + hashlib.sha256(tail.encode()).hexdigest()
    return text


def covered_kinds(report: ScanReport) -> tuple[str, ...]:
    """Kinds this scan could see: an absent finding of these kinds is no longer there."""
    if report.status == STATUS_ERROR:
        return ()
    if not report.vulnerability_data:
        return (KIND_DENIED,)
    return tuple(TYPES)


def _finding(
    report: ScanReport,
    finding: Finding,
    where: tuple[str, str],
    resources: list[dict[str, Any]],
    common: dict[str, str],
) -> dict[str, Any]:
    account, region = where
    digest = digest_of(report)
    kind = _kind(finding)
    label = LABELS.get(finding.severity, "INFORMATIONAL")
    item: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id(digest, finding),
        "ProductArn": _product_arn(account, region),
        "GeneratorId": f"{GENERATOR_PREFIX}{kind}",
        "AwsAccountId": account,
        "Types": [TYPES[kind]],
        "FirstObservedAt": report.finished_at,
        "LastObservedAt": report.finished_at,
        "CreatedAt": report.finished_at,
        "UpdatedAt": report.finished_at,
        "Severity": {"Label": label, "Original": finding.severity},
        "Title": _text(_title(report, finding), MAX_TITLE),
        "Description": _text(_description(report, finding), MAX_DESCRIPTION),
        "Resources": resources,
        "ProductFields": _product_fields(common, finding),
        "RecordState": "ACTIVE",
    }
    if report.report_uri:
        item["SourceUrl"] = report.report_uri.removesuffix("report.json") + "report.html"
    if finding.fixed_version:
        remedy = f"Upgrade {finding.package} to {finding.fixed_version} or later."
        item["Remediation"] = {"Recommendation": {"Text": _text(remedy, 512)}}
    if kind == KIND_VULNERABILITY:
        item["Vulnerabilities"] = _vulnerabilities(finding)
    return {k: v for k, v in item.items() if v not in ("", None)}


def _vulnerabilities(finding: Finding) -> list[dict[str, Any]]:
    package: dict[str, str] = {}
    if finding.package.strip():
        package["Name"] = _text(finding.package, 1024)
    if finding.installed_version.strip():
        package["Version"] = _text(finding.installed_version, 1024)
    if finding.fixed_version.strip():
        package["FixedInVersion"] = _text(finding.fixed_version, 1024)
        package["Remediation"] = _text(f"Upgrade to {finding.fixed_version}", 1024)
    if finding.layer.strip():
        package["SourceLayerHash"] = _text(finding.layer, 1024)
    ids = [c for c in finding.cves if c.strip()] or [finding.id]
    out = []
    for vuln_id in ids[:50]:
        entry: dict[str, Any] = {
            "Id": _text(vuln_id, 1024),
            "FixAvailable": "YES" if finding.fixed_version else "NO",
        }
        if package:
            entry["VulnerablePackages"] = [package]
        url = cve_url(vuln_id)
        if url:
            entry["Vendor"] = {"Name": "NVD", "Url": url}
            entry["ReferenceUrls"] = [url]
        else:
            entry["Vendor"] = {"Name": "Qualys"}
        out.append(entry)
    return out


def _product_fields(common: dict[str, str], finding: Finding) -> dict[str, str]:
    fields = dict(common)  # what is the same for every finding of the report
    fields["deployscan/FindingId"] = _text(finding.id, MAX_FIELD_VALUE)
    fields["deployscan/Kind"] = _kind(finding)
    fields["deployscan/BreaksPolicy"] = "yes" if finding.violation else "no"
    return fields


def _report_fields(report: ScanReport) -> dict[str, str]:
    code = report.lambda_code
    fields = {
        "deployscan/Image": report.image.ref if code is None else "",
        "deployscan/TargetKind": code.kind if code else "",
        "deployscan/LambdaArn": code.arn if code else "",
        "deployscan/CodeSha256": code.code_sha256 if code else "",
        "deployscan/Scanner": report.scanner.name,
        "deployscan/Verdict": report.status,
        "deployscan/BuildId": report.build_id,
        "deployscan/ReportUri": report.report_uri,
        "deployscan/WhereItRuns": report.where,  # the sweep's in-use index, when it knows
    }
    return {k: _text(v, MAX_FIELD_VALUE) for k, v in fields.items() if v.strip()}


def _title(report: ScanReport, finding: Finding) -> str:
    what = finding.cves[0] if finding.cves else (finding.title or finding.id)
    where = report.image.repository or report.image.ref
    if _kind(finding) == KIND_SECRET:
        return f"Secret ({finding.title or finding.id}) in {where}"
    if _kind(finding) == KIND_DENIED:
        return f"Denied package {finding.package} {finding.installed_version} in {where}"
    return f"{what} in {finding.package} {finding.installed_version} ({where})"


def _description(report: ScanReport, finding: Finding) -> str:
    fix = f"fixed in {finding.fixed_version}" if finding.fixed_version else "no fix available"
    cves = ", ".join(finding.cves[:10]) + (" …" if len(finding.cves) > 10 else "")
    parts = [
        finding.title or finding.id,
        f"Package {finding.package} {finding.installed_version}; {fix}." if finding.package else "",
        f"CVEs: {cves}." if cves else "",
        _target_sentence(report),
        "Breaks the deployscan policy." if finding.violation else "",
    ]
    return " ".join(p for p in parts if p)


def _target_sentence(report: ScanReport) -> str:
    code = report.lambda_code
    if code is None:
        return f"Image {report.image.ref} ({digest_of(report)})."
    what = "Layer version" if code.kind == "lambda-layer" else "Function"
    return f"{what} {code.arn} (code SHA-256 {code.code_sha256 or 'unknown'})."


def _kind(finding: Finding) -> str:
    return finding.kind if finding.kind in TYPES else KIND_VULNERABILITY
