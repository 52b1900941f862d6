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

from dispatcher.buildvars import KIND_LAMBDA_LAYER
from scanner_runner.consolelinks import beside_report, s3_object_url
from scanner_runner.denylist import KIND_DENIED
from scanner_runner.jsontext import encode as _encode
from scanner_runner.report import STATUS_ERROR, Finding, ScanReport
from scanner_runner.writers.asffresources import (
    MAX_ID,
    bounded,
    digest_of,
    partition,
    resources_of,
)
from scanner_runner.writers.asffresources import text as _text
from scanner_runner.writers.interface import bulk_objects, cve_url

__all__ = ["digest_of"]  # re-exported: securityhub keys its GetFindings filter by it

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
    lines = finding_lines(report, account, region)
    # One finding per line: diffable, and written by the C encoder (indent= is pure Python).
    return "[\n  " + ",\n  ".join(lines) + "\n]\n" if lines else "[]\n"


def findings(report: ScanReport, account: str, region: str) -> list[dict[str, Any]]:
    """ASFF findings of the report for Security Hub in `account`/`region` (none for an error):
    parsed from the very text `render` writes, so what is imported is what the file says."""
    heads, shared = _parts(report, account, region)
    if not heads:
        return []
    # The tail every line ends with (times, resources …) is parsed once; its values are shared.
    tail = json.loads("{" + shared)
    with bulk_objects():
        return [json.loads(head + "}") | tail for head in heads]


def finding_lines(report: ScanReport, account: str, region: str) -> list[str]:
    """One JSON object per reported finding, each on one line (none for an error report)."""
    heads, shared = _parts(report, account, region)
    return [f"{head}, {shared}" for head in heads]


def _parts(report: ScanReport, account: str, region: str) -> tuple[list[str], str]:
    """Each finding's own members (an open JSON object) and the closing members all share."""
    if report.status == STATUS_ERROR:
        return [], ""
    encode = _LineEncoder(report, account, region)
    seen: set[str] = set()
    heads = []
    for finding in report.sorted_findings():
        if finding.ignored:
            continue
        key = finding_id(encode.digest, finding)
        if key not in seen:  # the same id twice would be one finding anyway
            seen.add(key)
            heads.append(encode(key, finding))
    return heads, encode.shared


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


class _LineEncoder:
    """Encodes one finding per call. What every finding of the report shares (account, times,
    resources, the report's product fields) is encoded once and spliced into each line."""

    def __init__(self, report: ScanReport, account: str, region: str) -> None:
        self.report = report
        self.digest = digest_of(report)
        self.target = _target_sentence(report)
        resources, left_out = resources_of(report)
        common = _report_fields(report, left_out)
        self.common_fields = ", " + _encode(common)[1:-1] if common else ""
        when = report.finished_at
        shared: dict[str, Any] = {
            "SchemaVersion": SCHEMA_VERSION,
            "ProductArn": product_arn(account, region),
            "AwsAccountId": account,
            "FirstObservedAt": when,
            "LastObservedAt": when,
            "CreatedAt": when,
            "UpdatedAt": when,
            "RecordState": "ACTIVE",
            "SourceUrl": s3_object_url(beside_report(report.report_uri, "report.html"), region),
            "Resources": resources,
        }
        self.shared = _encode({k: v for k, v in shared.items() if v != ""})[1:]

    def __call__(self, key: str, finding: Finding) -> str:
        """The finding's own members, the object left open for `shared` to close."""
        kind = _kind(finding)
        head: dict[str, Any] = {
            "Title": bounded(_title(self.report, finding), MAX_TITLE),
            "Description": bounded(self._description(finding), MAX_DESCRIPTION),
        }
        if finding.fixed_version:
            remedy = f"Upgrade {finding.package} to {finding.fixed_version} or later."
            head["Remediation"] = {"Recommendation": {"Text": bounded(remedy, 512)}}
        fields = {
            "deployscan/FindingId": _text(finding.id, MAX_FIELD_VALUE),
            "deployscan/Kind": kind,
            "deployscan/BreaksPolicy": "yes" if finding.violation else "no",
        }
        vulnerabilities = _vulnerabilities(finding) if kind == KIND_VULNERABILITY else ""
        return (
            f'{{"Id": {_encode(key)}, {_classified(kind, finding.severity)}, '
            f"{_encode(head)[1:-1]}{vulnerabilities}, "
            f'"ProductFields": {_encode(fields)[:-1]}{self.common_fields}}}'
        )

    def _description(self, finding: Finding) -> str:
        fix = f"fixed in {finding.fixed_version}" if finding.fixed_version else "no fix available"
        cves = ", ".join(finding.cves[:10]) + (" …" if len(finding.cves) > 10 else "")
        title = (finding.title or finding.id).rstrip()
        if title and title[-1] not in ".!?…":  # a sentence, not run into "Package …"
            title += "."
        parts = [
            title,
            f"Package {finding.package} {finding.installed_version}".rstrip() + f"; {fix}."
            if finding.package
            else "",
            f"CVEs: {cves}." if cves else "",
            self.target,
            "Breaks the deployscan policy." if finding.violation else "",
        ]
        return " ".join(p for p in parts if p)


@functools.lru_cache(maxsize=256)
def _classified(kind: str, severity: str) -> str:
    """`"GeneratorId": …, "Types": …, "Severity": …, "FindingProviderFields": …`: Types and
    Severity at the top level (customers may change those) and, as the documentation asks of a
    provider, in FindingProviderFields (only the provider may change those)."""
    fields = {
        "Types": [TYPES[kind]],
        "Severity": {"Label": LABELS.get(severity, "INFORMATIONAL"), "Original": severity},
    }
    head = {"GeneratorId": GENERATOR_PREFIX + kind, **fields, "FindingProviderFields": fields}
    return _encode(head)[1:-1]


def _vulnerabilities(finding: Finding) -> str:
    """`, "Vulnerabilities": [...]`: one entry per CVE (the finding id when it has none)."""
    fix = '"FixAvailable": "YES"' if finding.fixed_version else '"FixAvailable": "NO"'
    package = _package(
        finding.package, finding.installed_version, finding.fixed_version, finding.layer
    )
    ids = [c for c in finding.cves if c.strip()] or [finding.id]
    entries = ", ".join(f"{{{_vulnerability(i)}, {fix}{package}}}" for i in ids[:50])
    return f', "Vulnerabilities": [{entries}]'


@functools.lru_cache(maxsize=65536)  # CVE ids repeat across findings
def _vulnerability(vuln_id: str) -> str:
    """The members of one vulnerability entry that depend on its id alone (NVD for a CVE)."""
    entry: dict[str, Any] = {"Id": _text(vuln_id, 1024)}
    url = cve_url(vuln_id)
    entry["Vendor"] = {"Name": "NVD", "Url": url} if url else {"Name": "Qualys"}
    if url:
        entry["ReferenceUrls"] = [url]
    return _encode(entry)[1:-1]


@functools.lru_cache(maxsize=16384)  # packages repeat across findings
def _package(name: str, version: str, fixed: str, layer: str) -> str:
    """`, "VulnerablePackages": [...]` for the finding's package ("" when nothing is known)."""
    package: dict[str, str] = {}
    if name.strip():
        package["Name"] = _text(name, 1024)
    if version.strip():
        package["Version"] = _text(version, 1024)
    if fixed.strip():
        package["FixedInVersion"] = _text(fixed, 1024)
        package["Remediation"] = _text(f"Upgrade to {fixed}", 1024)
    if layer.strip():
        package["SourceLayerHash"] = _text(layer, 1024)
    return f', "VulnerablePackages": [{_encode(package)}]' if package else ""


def _report_fields(report: ScanReport, left_out: int) -> dict[str, str]:
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
        "deployscan/WorkloadsNotListed": str(left_out) if left_out else "",
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


def _target_sentence(report: ScanReport) -> str:
    code = report.lambda_code
    if code is None:
        return f"Image {report.image.ref} ({digest_of(report)})."
    what = "Layer version" if code.kind == KIND_LAMBDA_LAYER else "Function"
    return f"{what} {code.arn} (code SHA-256 {code.code_sha256 or 'unknown'})."


def _kind(finding: Finding) -> str:
    return finding.kind if finding.kind in TYPES else KIND_VULNERABILITY
