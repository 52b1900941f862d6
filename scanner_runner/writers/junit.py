"""`junit.xml` for a CodeBuild report group: one testsuite per image, one testcase per finding.

CodeBuild keeps at most 500 test cases per report, failures first; so do we, explicitly: the
policy verdict, then violations, then other findings, then ignored ones (as skipped), and when
more would not fit, one final testcase says what was folded and where the full report is.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from scanner_runner.report import Finding, ScanReport
from scanner_runner.writers.interface import (
    clean_text,
    counts_unknown,
    target_rows,
    verdict_word,
)

MAX_CASES = 500
NAME_LIMIT = 1000
MESSAGE_LIMIT = 5000
MAX_CVES_IN_NAME = 5
_INVENTORY_ONLY = (
    "INVENTORY ONLY: no vulnerability data - the packages were listed and none is denied by the "
    "deny list, but nothing was checked for vulnerabilities"
)


def render(report: ScanReport) -> str:
    """The JUnit XML document for the report."""
    suite_name = clean_text(report.image.ref or "image", NAME_LIMIT)
    suites = ET.Element("testsuites", name="deployscan")
    suite = ET.SubElement(suites, "testsuite", name=suite_name, timestamp=report.finished_at)
    properties = ET.SubElement(suite, "properties")
    for key, value in _properties(report):
        ET.SubElement(properties, "property", name=key, value=clean_text(value, MESSAGE_LIMIT))

    cases: list[ET.Element] = [_verdict_case(report)]
    ordered = sorted(
        report.findings,
        key=lambda f: (not f.violation, bool(f.ignored), -f.rank, f.id, f.package),
    )
    room = MAX_CASES - len(cases)
    if len(ordered) > room:
        shown, folded = ordered[: room - 1], ordered[room - 1 :]
    else:
        shown, folded = ordered, []
    cases.extend(_finding_case(report, f) for f in shown)
    if folded:
        cases.append(_folded_case(report, folded))

    failures = sum(1 for c in cases if c.find("failure") is not None)
    errors = sum(1 for c in cases if c.find("error") is not None)
    skipped = sum(1 for c in cases if c.find("skipped") is not None)
    counts = {"tests": len(cases), "failures": failures, "errors": errors, "skipped": skipped}
    for element in (suites, suite):
        for key, number in counts.items():
            if element is suites and key == "skipped":
                continue
            element.set(key, str(number))
    suite.extend(cases)
    ET.indent(suites, space="  ")
    body = ET.tostring(suites, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _properties(report: ScanReport) -> list[tuple[str, str]]:
    return [
        ("image", report.image.ref),
        ("digest", report.image.digest),
        ("platform", report.image.platform),
        ("scanner", f"{report.scanner.name} {report.scanner.version}".strip()),
        ("scanner_mode", report.scanner.mode),
        ("status", report.status),
        ("policy", f"{report.policy.decision}: {report.policy.reason}"),
        ("counts", _counts(report)),
        ("trigger", report.trigger.source),
        ("report_uri", report.report_uri),
        *((label.lower().replace(" ", "_"), value) for label, value in target_rows(report)),
    ]


def _counts(report: ScanReport) -> str:
    """`critical=2, high=1, …`, or n/a (not zeros) when nothing was checked for vulnerabilities."""
    return counts_unknown(report) or ", ".join(f"{k}={v}" for k, v in report.summary.items())


def _verdict_case(report: ScanReport) -> ET.Element:
    case = ET.Element("testcase", classname="deployscan.policy")
    case.set("name", clean_text(f"Policy verdict: {verdict_word(report)}", NAME_LIMIT))
    message = clean_text(report.error or report.policy.reason, MESSAGE_LIMIT)
    if report.status == "error":
        ET.SubElement(case, "error", message=message, type="scan-error").text = message
    elif report.status == "failed":
        ET.SubElement(case, "failure", message=message, type="policy").text = message
    else:
        if not report.vulnerability_data:  # shown SKIPPED, never a green pass; the build passes
            ET.SubElement(case, "skipped", message=_INVENTORY_ONLY)
        notes = [report.policy.reason, *report.policy.warnings]
        ET.SubElement(case, "system-out").text = clean_text("\n".join(notes), MESSAGE_LIMIT)
    return case


def case_name(finding: Finding) -> str:
    """`[SEVERITY] QID CVE…` (long CVE lists shortened)."""
    cves = list(finding.cves[:MAX_CVES_IN_NAME])
    if len(finding.cves) > MAX_CVES_IN_NAME:
        cves.append(f"+{len(finding.cves) - MAX_CVES_IN_NAME} more")
    return " ".join([f"[{finding.severity.upper()}]", finding.id, *cves])


def _finding_case(report: ScanReport, finding: Finding) -> ET.Element:
    package = finding.package or "image"
    classname = f"{package}@{finding.installed_version}" if finding.installed_version else package
    case = ET.Element("testcase", classname=clean_text(classname, NAME_LIMIT))
    case.set("name", clean_text(case_name(finding), NAME_LIMIT))
    detail = _detail(finding)
    if finding.violation:
        message = clean_text(f"{finding.severity} finding breaks the policy: {finding.title}", 500)
        element = ET.SubElement(case, "failure", message=message, type=finding.severity)
        element.text = clean_text(detail, MESSAGE_LIMIT)
    elif finding.ignored:
        ET.SubElement(case, "skipped", message=clean_text(f"ignored: {finding.ignored}", 500))
    else:
        ET.SubElement(case, "system-out").text = clean_text(detail, MESSAGE_LIMIT)
    return case


def _detail(finding: Finding) -> str:
    lines = [finding.title]
    if finding.package:
        lines.append(f"package: {finding.package} {finding.installed_version}".rstrip())
    lines.append(f"fixed in: {finding.fixed_version or 'no fix available'}")
    if finding.cves:
        lines.append("CVEs: " + ", ".join(finding.cves))
    if finding.layer:
        lines.append(f"layer: {finding.layer}")
    return "\n".join(lines)


def _folded_case(report: ScanReport, folded: list[Finding]) -> ET.Element:
    failing = sum(1 for f in folded if f.violation)
    where = report.report_uri or "report.json next to this file"
    name = f"[SUMMARY] {len(folded)} more findings not listed ({failing} breaking the policy)"
    case = ET.Element("testcase", classname="deployscan.summary", name=name)
    by_severity: dict[str, int] = {}
    for finding in folded:
        by_severity[finding.severity] = by_severity.get(finding.severity, 0) + 1
    text = (
        f"CodeBuild shows at most {MAX_CASES} test cases; {len(folded)} findings were folded "
        f"({', '.join(f'{k}={v}' for k, v in by_severity.items())}). Full report: {where}"
    )
    if failing:
        ET.SubElement(case, "failure", message=clean_text(text, 500), type="folded").text = text
    else:
        ET.SubElement(case, "system-out").text = clean_text(text, MESSAGE_LIMIT)
    return case
