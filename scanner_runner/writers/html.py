"""`report.html`: a self-contained page a person reads (no scripts, no network resources)."""

from __future__ import annotations

from functools import lru_cache

import jinja2

from scanner_runner.report import SEVERITIES, ScanReport
from scanner_runner.writers.interface import scanner_label, short_digest, target_rows, verdict_word


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


def render(report: ScanReport) -> str:
    """The HTML page: verdict, counts by severity, image and trigger details, findings table."""
    findings = report.sorted_findings()
    return _template().render(
        report=report,
        verdict=verdict_word(report),
        scanner_label=scanner_label(report),
        short_digest=short_digest(report.image.digest),
        target_rows=target_rows(report),
        severities=SEVERITIES,
        summary=report.summary,
        findings=[f for f in findings if not f.ignored],
        ignored=[f for f in findings if f.ignored],
    )
