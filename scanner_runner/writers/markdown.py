"""`report.md`: a short Markdown summary for chat and tickets."""

from __future__ import annotations

from scanner_runner.report import SEVERITIES, Finding, ScanReport
from scanner_runner.writers.interface import (
    counts_unknown,
    one_line,
    scanner_label,
    short_digest,
    target_rows,
    verdict_word,
)

MAX_ROWS = 50


def render(report: ScanReport) -> str:
    """Markdown: verdict, counts, image details and the most severe findings."""
    image = report.image
    title = image.ref
    if image.digest:
        title = f"{image.repository or image.ref}@{short_digest(image.digest)}"
    lines = [
        f"## deployscan: {_cell(title)} — {verdict_word(report)}",
        "",
        f"**Policy:** {_cell(report.policy.reason)}",
    ]
    if report.error:
        lines.append(f"**Error:** {_cell(report.error)}")
    lines.extend(f"> warning: {_cell(w)}" for w in report.policy.warnings)
    if not report.vulnerability_data and report.status != "error":
        lines.append("> inventory only: no vulnerability data (this is not a vulnerability scan)")
    counts = report.summary
    known = not counts_unknown(report)  # else n/a, not zero
    lines += [
        "",
        "| " + " | ".join(s.capitalize() for s in SEVERITIES) + " |",
        "|" + "---:|" * len(SEVERITIES),
        "| " + " | ".join(str(counts[s]) if known else "n/a" for s in SEVERITIES) + " |",
        "",
        f"- Image: `{_code(image.ref)}`",
        f"- Digest: `{_code(image.digest or 'unknown')}`",
        f"- Platform: {_cell(image.platform or 'unknown')}",
        *(f"- {label}: `{_code(value)}`" for label, value in target_rows(report)),
        f"- Scanner: {_cell(scanner_label(report))}",
        f"- Trigger: {_cell(report.trigger.source)} {_cell(report.trigger.resource_arn)}".rstrip(),
        f"- Account/region: {_cell(report.trigger.account or '-')}"
        f" / {_cell(report.trigger.region or '-')}",
        f"- Scanned: {report.started_at} → {report.finished_at}",
    ]
    if report.where:
        lines.append(f"- Where it runs: {_cell(report.where)}")
    if report.report_uri:
        lines.append(f"- Full report: `{_code(report.report_uri)}`")
    findings = [f for f in report.sorted_findings() if not f.ignored]
    if findings:
        lines += [
            "",
            "| Severity | QID | CVEs | Package | Installed | Fix available | Fixed in | Title |",
            "|---|---|---|---|---|---|---|---|",
        ]
        lines.extend(_row(f) for f in findings[:MAX_ROWS])
        if len(findings) > MAX_ROWS:
            lines.append(f"\n…and {len(findings) - MAX_ROWS} more in the full report.")
    if report.policy.ignored:
        lines.append(f"\n{report.policy.ignored} finding(s) ignored by the ignore list.")
    return "\n".join(lines) + "\n"


def _row(finding: Finding) -> str:
    mark = " ✗" if finding.violation else ""
    cells = [
        finding.severity.upper() + mark,
        finding.id,
        ", ".join(finding.cves[:3]) + (" …" if len(finding.cves) > 3 else ""),
        finding.package,
        finding.installed_version,
        "yes" if finding.fixed_version else "no",  # the HTML report's wording
        finding.fixed_version or "—",
        finding.title[:120],
    ]
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _cell(text: str) -> str:
    """Keep table cells on one line and stop Markdown/HTML injection from scanner text."""
    out = one_line(text)
    for char in "\\|`*_[]<>#":
        out = out.replace(char, "\\" + char)
    return out


def _code(text: str) -> str:
    return one_line(text).replace("`", "'")
