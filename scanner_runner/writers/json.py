"""`report.json`: the ScanReport itself (the format `deployscan report` re-renders from)."""

from __future__ import annotations

from scanner_runner.report import ScanReport, dumps


def render(report: ScanReport) -> str:
    """The report as indented JSON, schema_version first."""
    return dumps(report)
