"""`findings.asff.json`: the report as AWS Security Finding Format findings (Security Hub).

One finding per reported vulnerability (or denied package, or secret) per image digest. Its `Id`
depends only on the digest, the kind, the finding id and the package, so a rescan of the same
digest updates the finding instead of adding a copy, and a finding the rescan no longer reports
can be archived by `Id` (see `scanner_runner/securityhub.py`). Ignored findings are not exported.
"""

from __future__ import annotations

import functools
import hashlib
import re
from typing import Any

from scanner_runner.denylist import KIND_DENIED
from scanner_runner.report import STATUS_ERROR, Finding, ScanReport, dumps_layered
from scanner_runner.writers.interface import clean_text, cve_url, one_line

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
MAX_ID, MAX_TITLE, MAX_DESCRIPTION, MAX_FIELD_VALUE = 512, 256, 1024, 2048
_ECR_HOST = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$"
)
_ARCHITECTURES = {"amd64": "x86_64", "arm64": "arm64", "386": "i386"}
_WORKLOAD_TYPES = (
    (":ecs:", ":task/", "AwsEcsTask"),
    (":ecs:", ":service/", "AwsEcsService"),
    (":ecs:", ":task-definition/", "AwsEcsTaskDefinition"),
    (":lambda:", ":function:", "AwsLambdaFunction"),
)


def render(report: ScanReport) -> str:
    """The findings as a JSON array (account and region from the report's trigger)."""
    account = report.trigger.account or UNKNOWN_ACCOUNT
    region = report.trigger.region or UNKNOWN_REGION
    # One finding per line: diffable, and written by the C encoder (indent= is pure Python).
    return dumps_layered(findings(report, account, region), levels=1) + "\n"


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


def product_arn(account: str, region: str) -> str:
    """The account's own ("default") product ARN, the one a customer's findings go to."""
    return f"arn:{partition(region)}:securityhub:{region}:{account}:product/{account}/default"


def partition(region: str) -> str:
    """The AWS partition of a region name."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def digest_of(report: ScanReport) -> str:
    """The digest findings are keyed by (the manifest digest, else the image id)."""
    return report.image.digest or report.image.image_id or "unknown-digest"


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


def image_resources(report: ScanReport) -> list[dict[str, Any]]:
    """The image (ECR image or container) and the workload it runs as, when known."""
    image = report.image
    digest = digest_of(report)
    ecr = _ECR_HOST.match(image.registry)
    resources: list[dict[str, Any]] = []
    if ecr and image.repository:
        region = ecr["region"]
        details: dict[str, Any] = {
            "RegistryId": ecr["account"],
            "RepositoryName": image.repository,
            "ImageDigest": digest,
        }
        if image.tag:
            details["ImageTags"] = [image.tag]
        arch = _ARCHITECTURES.get(image.platform.partition("/")[2].partition("/")[0])
        if arch:
            details["Architecture"] = arch
        arn = f"arn:{partition(region)}:ecr:{region}:{ecr['account']}"
        resources.append(
            {
                "Type": "AwsEcrContainerImage",
                "Id": f"{arn}:repository/{image.repository}/{digest}",
                "Partition": partition(region),
                "Region": region,
                "Details": {"AwsEcrContainerImage": details},
            }
        )
    else:
        name = f"{image.registry}/{image.repository}" if image.repository else image.ref
        container = {"Name": _text(name, 1024), "ImageName": _text(image.ref, 1024)}
        container["ImageId"] = digest
        resources.append(
            {
                "Type": "Container",
                "Id": _text(f"{name}@{digest}", MAX_ID),
                "Details": {"Container": container},
            }
        )
    workload = _workload(report.trigger.resource_arn)
    if workload:
        resources.append(workload)
    return resources


def _workload(arn: str) -> dict[str, Any] | None:
    parts = arn.split(":")
    if not arn.startswith("arn:") or len(parts) < 6:
        return None
    kind = next((t for svc, marker, t in _WORKLOAD_TYPES if svc in arn and marker in arn), "")
    if not kind:
        return None
    resource: dict[str, Any] = {"Type": kind, "Id": arn[:MAX_ID], "Partition": parts[1]}
    if parts[3]:
        resource["Region"] = parts[3]
    if kind == "AwsLambdaFunction" and len(parts) >= 7 and parts[6]:
        resource["Details"] = {"AwsLambdaFunction": {"FunctionName": parts[6]}}
    return resource


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
        "ProductArn": product_arn(account, region),
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
    fields = {
        "deployscan/Image": report.image.ref,
        "deployscan/Scanner": report.scanner.name,
        "deployscan/Verdict": report.status,
        "deployscan/BuildId": report.build_id,
        "deployscan/ReportUri": report.report_uri,
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
        f"Image {report.image.ref} ({digest_of(report)}).",
        "Breaks the deployscan policy." if finding.violation else "",
    ]
    return " ".join(p for p in parts if p)


def _kind(finding: Finding) -> str:
    return finding.kind if finding.kind in TYPES else KIND_VULNERABILITY


@functools.lru_cache(maxsize=65536)  # package names, versions, CVE ids repeat across findings
def _text(value: str, limit: int) -> str:
    """One line, at most `limit` characters, never blank (the model's `.*\\S.*`)."""
    # Fast path, same result as one_line: whitespace folded, then nothing left to drop.
    folded = " ".join(value.split())
    text = clean_text(folded if folded.isprintable() else one_line(value), limit)
    return text if text.strip() else "-"
