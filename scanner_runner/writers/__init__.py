"""Report writers. `FORMATS` is the one place a format name maps to its writer and file name."""

from __future__ import annotations

from pathlib import Path

from scanner_runner.report import ScanReport, write_atomic
from scanner_runner.writers import asff, html, json, junit, markdown, sarif
from scanner_runner.writers.interface import OutputFormat, bulk_objects

FORMATS: dict[str, OutputFormat] = {
    "json": OutputFormat("json", "report.json", "application/json", json.render),
    "junit": OutputFormat("junit", "junit.xml", "application/xml", junit.render),
    "sarif": OutputFormat("sarif", "report.sarif.json", "application/sarif+json", sarif.render),
    "html": OutputFormat("html", "report.html", "text/html; charset=utf-8", html.render),
    "markdown": OutputFormat("markdown", "report.md", "text/markdown", markdown.render),
    "asff": OutputFormat("asff", "findings.asff.json", "application/json", asff.render),
}


def render(report: ScanReport, name: str) -> str:
    """Render the report in one format (KeyError for an unknown name)."""
    output = FORMATS[name]
    with bulk_objects():
        return output.render(report)


def write_all(report: ScanReport, directory: Path) -> list[Path]:
    """Render every format into `directory`, each file written atomically; returns the paths."""
    paths = []
    for output in FORMATS.values():
        path = directory / output.filename
        with bulk_objects():
            text = output.render(report)
        write_atomic(path, text)
        paths.append(path)
    return paths
