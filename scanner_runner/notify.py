"""The SNS message a person reads: what was scanned, where it runs, the verdict, the top
findings and the console link to the HTML report (plain text, not a JSON dump)."""

from __future__ import annotations

from scanner_runner.consolelinks import beside_report, s3_object_url
from scanner_runner.denylist import KIND_DENIED
from scanner_runner.report import SEVERITIES, Finding, ScanReport
from scanner_runner.workloads import workload_kind
from scanner_runner.writers.interface import counts_unknown, one_line, short_digest

TOP = 5


def message(report: ScanReport, uri: str, region: str = "") -> str:
    """The notification body; `uri` is report.json's S3 URI ("" when the reports are not in S3),
    `region` the bucket's (for the console link)."""
    image = report.image
    digest = image.identity
    name = image.repository or image.ref
    lines = [
        f"{_headline(report)}: {name}@{short_digest(digest) or 'unknown'}",
        "",
        f"What: {image.ref}",
        f"      digest {digest or 'unknown'}",
        f"Where: {where_it_runs(report)}",
        *([f"Runs now: {one_line(report.where)}"] if report.where else []),
        f"Why: {report.policy.reason}",
        f"Counts: {_counts(report)}",
    ]
    if report.error:
        lines.append(f"Error: {report.error}")
    lines.extend(f"Warning: {w}" for w in report.policy.warnings)
    top = [f for f in report.sorted_findings() if not f.ignored][:TOP]
    if top:
        lines += ["", "Top findings:"] + [f"  - {_finding(f)}" for f in top]
        more = sum(1 for f in report.findings if not f.ignored) - len(top)
        if more > 0:
            lines.append(f"  … and {more} more in the report")
    if uri:
        html = beside_report(uri, "report.html")
        lines += [
            "",
            f"Report: {s3_object_url(html, region)}",
            f"        ({html}; JSON: {uri})",
        ]
    lines += [
        "",
        f"Scanner: {report.scanner.name} {report.scanner.version} ({report.scanner.mode})".rstrip(),
        f"Build: {report.build_id or 'local'}, trigger {report.trigger.source},"
        f" {report.started_at} to {report.finished_at}",
    ]
    return "\n".join(_clean(line) for line in lines) + "\n"


def _clean(line: str) -> str:
    """One printable line (scanner text is untrusted), keeping its leading indent."""
    indent = len(line) - len(line.lstrip(" "))
    return " " * indent + one_line(line) if line.strip() else ""


def where_it_runs(report: ScanReport) -> str:
    """`ECS task arn:… (account 1234…, eu-west-1)`, or what is known of it."""
    trigger = report.trigger
    arn = trigger.resource_arn
    kind = (workload_kind(arn) or ("", ""))[1]
    what = f"{kind} {arn}" if kind else (arn or "not known (a manual or pipeline scan)")
    place = ", ".join(p for p in (f"account {trigger.account}" if trigger.account else "",
                                  trigger.region) if p)  # fmt: skip
    return f"{what} ({place})" if place else what


def subject_verdict(report: ScanReport) -> str:
    """The verdict at the end of the SNS subject: `2C/5H FAILED`, or without counts when there
    are none to tell (`SCAN ERROR`, `INVENTORY ONLY`, `INVENTORY ONLY - FAILED deny list (…)`)."""
    if report.status == "error":
        return "SCAN ERROR"
    if not report.vulnerability_data:
        if report.status != "failed":
            return "INVENTORY ONLY"
        denied = _denied(report)
        if not denied:
            return "INVENTORY ONLY - FAILED"
        return f"INVENTORY ONLY - FAILED deny list ({denied} package{'s' * (denied > 1)})"
    counts = report.summary
    return f"{counts['critical']}C/{counts['high']}H {report.status.upper()}"


def _headline(report: ScanReport) -> str:
    if report.status == "error":
        return "SCAN ERROR - not checked"
    if report.status == "failed" and not report.vulnerability_data:
        what = "the deny list" if _denied(report) else "the policy"
        return f"INVENTORY ONLY - FAILED {what}, no vulnerability data"
    if report.status == "failed":
        return "FAILED the policy"
    if not report.vulnerability_data:
        return "INVENTORY ONLY - no vulnerability data"
    return "PASSED with critical/high findings" if _serious(report) else "PASSED"


def _denied(report: ScanReport) -> int:
    """How many findings break the policy as denied packages."""
    return sum(1 for f in report.violations if f.kind == KIND_DENIED)


def _serious(report: ScanReport) -> bool:
    counts = report.summary
    return counts["critical"] + counts["high"] > 0


def _counts(report: ScanReport) -> str:
    unknown = counts_unknown(report)
    if unknown:
        return unknown
    counts = report.summary
    return ", ".join(f"{counts[s]} {s}" for s in SEVERITIES)


def _finding(finding: Finding) -> str:
    what = ", ".join(finding.cves[:3]) or finding.title or finding.id
    if len(finding.cves) > 3:
        what += f" (+{len(finding.cves) - 3})"
    fix = f"fix: {finding.fixed_version}" if finding.fixed_version else "no fix yet"
    package = f"{finding.package} {finding.installed_version}".strip()
    mark = " [breaks policy]" if finding.violation else ""
    return f"{finding.severity.upper()} {what} in {package}, {fix} (id {finding.id}){mark}"
