"""`report.html`: a self-contained page a person reads (no scripts, no network resources)."""

from __future__ import annotations

import html
from functools import lru_cache

import jinja2
from markupsafe import Markup

from scanner_runner.report import SEVERITIES, ScanReport
from scanner_runner.writers.interface import (
    cve_url,
    scanner_label,
    short_digest,
    target_rows,
)


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("scanner_runner.writers", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2")


def cve_links(cves: tuple[str, ...] | list[str]) -> Markup:
    """The CVE ids, each linked to its public page when it is a well-formed id, comma-separated.
    Built here rather than in a template macro: it runs once per finding (20,000 in a big scan)."""
    return Markup(", ".join(_cve_link(c) for c in cves))  # noqa: S704 (each part escaped)


def _cve_link(cve: str) -> str:
    text = html.escape(cve, quote=True)
    url = cve_url(cve)  # NVD_URL + a CVE id of [A-Z0-9-] only: nothing to escape
    return f'<a href="{url}" rel="noopener noreferrer">{text}</a>' if url else text


def render(report: ScanReport) -> str:
    """The HTML page: verdict, counts by severity, image and trigger details, findings table,
    and the packages when there is no vulnerability data."""
    findings = report.sorted_findings()
    inventory_only = not report.vulnerability_data and report.status != "error"
    badge, badge_class = report.status.upper(), report.status
    if inventory_only and report.status == "passed":
        badge, badge_class = "INVENTORY ONLY", "inventory"
    elif report.policy.decision == "audit":
        badge = "PASSED (AUDIT warning)"
    return _template().render(
        report=report,
        badge=badge,
        badge_class=badge_class,
        inventory_only=inventory_only,
        counts_known=report.vulnerability_data and report.status != "error",
        cve_links=cve_links,
        scanner_label=scanner_label(report),
        short_digest=short_digest(report.image.digest),
        target_rows=target_rows(report),
        severities=SEVERITIES,
        summary=report.summary,
        findings=[f for f in findings if not f.ignored],
        ignored=[f for f in findings if f.ignored],
    )
