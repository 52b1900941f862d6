"""The demo's closing table: one row per image decision, and the reports copied to disk."""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from dispatcher import model as m
from dispatcher.buildvars import SCAN_COUNTS, SCAN_REPORT_URI, SCAN_STATUS
from scanner_runner.devtools.localbuild.model import BuildResult
from scanner_runner.errors import ReportError
from scanner_runner.report import ScanReport, load

HEADERS = ("image", "trigger", "digest", "verdict", "c/h/m/l/i", "report")


@dataclass(frozen=True)
class Row:
    """One line of the summary."""

    image: str
    trigger: str
    digest: str
    verdict: str  # passed | failed [(inventory only)] | error | skipped: <reason>
    counts: str
    report_uri: str
    html: Path | None = None
    status: str = "skipped"  # passed | failed | error | skipped
    reason: str = ""  # why a build ended in error

    @property
    def errored(self) -> bool:
        """True when this row's build ended in error (a failed demo step)."""
        return self.status == "error"


def rows_for(
    outcomes: Iterable[m.Result], results: Mapping[str, BuildResult], reports_dir: Path
) -> list[Row]:
    """Rows for one dispatch: started builds with their verdicts, skips with their reasons."""
    rows = []
    for outcome in outcomes:
        if isinstance(outcome, m.Started):
            result = results.get(outcome.build_id)
            rows.append(_build_row(outcome, result, reports_dir))
        elif isinstance(outcome, m.Skip):
            rows.append(
                Row(
                    image=_short_image(outcome.image or "?"),
                    trigger=outcome.origin.trigger or "?",
                    digest=_short_digest(outcome.digest),
                    verdict=f"skipped: {outcome.reason}",
                    counts="",
                    report_uri="",
                )
            )
    return rows


def render(rows: Iterable[Row]) -> list[str]:
    """The table as text lines, columns padded to fit."""
    table = [HEADERS] + [
        (r.image, r.trigger, r.digest, r.verdict, r.counts, _short_uri(r.report_uri)) for r in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADERS))]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() for line in table
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def _build_row(outcome: m.Started, result: BuildResult | None, reports_dir: Path) -> Row:
    request = outcome.build.request
    exported = result.exported_variables if result else {}
    name = request.image.repository if request.image else str(request.code_arn).split(":")[6]
    html = _copy_reports(result, name, reports_dir) if result else None
    status = exported.get(SCAN_STATUS, "error")
    verdict = status
    counts = "/".join(exported.get(name, "?") for name in SCAN_COUNTS)
    digest = request.digest
    report = _load_report(html)
    if report is not None:
        digest = digest or report.image.digest  # the build resolved what the event lacked
        if status == "error":
            counts = "n/a"
        elif not report.vulnerability_data:
            # Zero counts from an inventory would read like a clean vulnerability scan.
            verdict, counts = f"{verdict} (inventory only)", "n/a"
    return Row(
        image=_short_image(outcome.build.image) if request.image else f"{request.kind}:{name}",
        trigger=request.trigger,
        digest=_short_digest(digest),
        verdict=verdict,
        counts=counts,
        report_uri=exported.get(SCAN_REPORT_URI, ""),
        html=html,
        status=status,
        reason=_error_reason(result, report) if status == "error" else "",
    )


def _load_report(html: Path | None) -> ScanReport | None:
    report_file = html.with_name("report.json") if html else None
    if report_file is None or not report_file.is_file():
        return None
    try:
        return load(report_file)
    except ReportError:
        return None


def _error_reason(result: BuildResult | None, report: ScanReport | None) -> str:
    """The scan's own error, else the build's failed phase, else that it never ran."""
    if report is not None and report.error:
        return report.error
    if result is None:
        return "the build did not run"
    failed = next((p for p in result.phases if p.status != "SUCCEEDED"), None)
    if failed is None:
        return f"the build ended {result.status} with no scan verdict"
    detail = f": {failed.message}" if failed.message else ""
    return f"the build ended {result.status} in phase {failed.phase_type}{detail}"


def _copy_reports(result: BuildResult, repository: str, reports_dir: Path) -> Path | None:
    if not result.artifacts:
        return None
    target = reports_dir / f"{result.build_number:02d}-{repository.replace('/', '-')}"
    base = result.artifacts[0].parent
    while base.name != "deployscan-reports" and base != base.parent:
        base = base.parent
    shutil.copytree(base, target, dirs_exist_ok=True)
    html = target / "report.html"
    return html if html.is_file() else None


def _short_image(image: str) -> str:
    name = image.partition("/")[2] if "/" in image else image  # drop the local registry host
    if "@" in name:
        repository, _, digest = name.partition("@")
        return f"{repository}@{digest[:19]}"
    return name


def _short_digest(digest: str | None) -> str:
    return digest[:19] if digest else "-"


def _short_uri(uri: str) -> str:
    if len(uri) <= 60:
        return uri
    return uri[:28] + "…" + uri[-31:]
