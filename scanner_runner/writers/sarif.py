"""`report.sarif.json`: SARIF 2.1.0 for code scanning (one rule per QID, levels by severity)."""

from __future__ import annotations

import hashlib
from typing import Any

from scanner_runner.jsontext import dumps_layered
from scanner_runner.report import Finding, ScanReport
from scanner_runner.writers.interface import counts_unknown, target_rows

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub code scanning reads `security-severity` (a CVSS-like score) to bucket alerts.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}


def render(report: ScanReport) -> str:
    """The SARIF log for the report, as JSON text."""
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    results = []
    for finding in report.sorted_findings():
        if finding.id not in index:
            index[finding.id] = len(rules)
            rules.append(_rule(finding))
        results.append(_result(report, finding, index[finding.id]))
    unknown = counts_unknown(report)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "deployscan",
                "semanticVersion": "0.1.0",
                "informationUri": "https://github.com/deployscan/deployscan",
                "rules": rules,
            }
        },
        "automationDetails": {"id": f"deployscan/{report.image.repository or 'image'}/"},
        "invocations": [_invocation(report)],
        "results": results,
        "properties": {
            "image": report.image.ref,
            "digest": report.image.digest,
            "platform": report.image.platform,
            "scanner": report.scanner.name,
            "scannerVersion": report.scanner.version,
            "scannerMode": report.scanner.mode,
            "status": report.status,
            "policyDecision": report.policy.decision,
            "policyReason": report.policy.reason,
            "vulnerabilityData": report.vulnerability_data,
            # null, not zeros, when nothing was checked: zeros would read as a clean scan
            "summary": None if unknown else report.summary,
            **({"summaryNote": unknown} if unknown else {}),
            **({"lambda": dict(target_rows(report))} if report.lambda_code else {}),
        },
    }
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    # Indented down to each result/rule, which then takes one line (fast and diffable).
    return dumps_layered(log, levels=4) + "\n"


def _rule(finding: Finding) -> dict[str, Any]:
    title = finding.title or f"{finding.kind} {finding.id}"
    cves = ", ".join(finding.cves)
    return {
        "id": finding.id,
        "name": f"QID{finding.id}" if finding.id.isdigit() else finding.id,
        "shortDescription": {"text": title},
        "fullDescription": {"text": f"{title} ({cves})" if cves else title},
        "defaultConfiguration": {"level": LEVELS[finding.severity]},
        "help": {"text": f"Severity {finding.severity}. CVEs: {cves or 'none'}."},
        "properties": {
            "severity": finding.severity,
            "security-severity": SECURITY_SEVERITY[finding.severity],
            "cves": list(finding.cves),
            "tags": ["security", finding.kind],
        },
    }


def _result(report: ScanReport, finding: Finding, rule_index: int) -> dict[str, Any]:
    fix = finding.fixed_version or "no fix available"
    what = f"{finding.package} {finding.installed_version}".strip() or "image"
    result: dict[str, Any] = {
        "ruleId": finding.id,
        "ruleIndex": rule_index,
        "level": LEVELS[finding.severity],
        "message": {"text": f"{what}: {finding.title} (fixed in: {fix})"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": report.image.repository or "image"}
                },
                "logicalLocations": [{"name": finding.package or "image", "kind": "package"}],
            }
        ],
        "partialFingerprints": {"deployscan/v1": _fingerprint(finding)},
        "properties": {
            "severity": finding.severity,
            "cves": list(finding.cves),
            "package": finding.package,
            "installedVersion": finding.installed_version,
            "fixedVersion": finding.fixed_version,
            "layer": finding.layer,
            "policyViolation": finding.violation,
        },
    }
    if finding.ignored:
        result["suppressions"] = [{"kind": "external", "justification": finding.ignored}]
    return result


def _invocation(report: ScanReport) -> dict[str, Any]:
    invocation: dict[str, Any] = {
        "executionSuccessful": report.status != "error",
        "startTimeUtc": report.started_at,
        "endTimeUtc": report.finished_at,
    }
    if report.error:
        invocation["toolExecutionNotifications"] = [
            {"level": "error", "message": {"text": report.error}}
        ]
    elif not report.vulnerability_data:  # no results must not read as "no vulnerabilities"
        text = "INVENTORY ONLY: no vulnerability data; nothing was checked for vulnerabilities"
        invocation["toolExecutionNotifications"] = [{"level": "warning", "message": {"text": text}}]
    return invocation


def _fingerprint(finding: Finding) -> str:
    key = "\0".join((finding.id, finding.package, finding.installed_version))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
