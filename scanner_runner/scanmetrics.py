"""The scan build's CloudWatch metrics (EMF lines): scans by verdict, duration, findings by
severity. Names and the format are the dispatcher's (`dispatcher/metrics.py`), one list for all."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from dispatcher.metrics import FINDINGS, SCAN_DURATION, SCANS, SEVERITY, VERDICT, Datum, lines
from scanner_runner.report import STATUS_ERROR, ScanReport


def scan_data(report: ScanReport, verdict: str) -> list[Datum]:
    """One scan: counted and timed by `verdict`, the build's final status (error when publishing
    failed after a passed or failed scan); findings by severity when the scan has vulnerability
    data (an inventory-only scan checked none, so it adds no zeros)."""
    timing: dict[str, float] = {SCANS: 1}
    seconds = _seconds(report.started_at, report.finished_at)
    if seconds is not None:
        timing[SCAN_DURATION] = seconds
    data = [Datum(timing, {VERDICT: verdict})]
    if report.vulnerability_data and report.status != STATUS_ERROR:
        data += [Datum({FINDINGS: n}, {SEVERITY: s}) for s, n in report.summary.items()]
    return data


def scan_lines(report: ScanReport, *, verdict: str, clock: Callable[[], datetime]) -> list[str]:
    """The EMF lines of one scan, stamped with its finish time, or the clock's time when that
    does not parse (CloudWatch drops a metric stamped too far in the past, such as 0)."""
    stamp = _parse(report.finished_at) or clock()
    return lines(scan_data(report, verdict), int(stamp.timestamp() * 1000))


def _seconds(started: str, finished: str) -> float | None:
    start, end = _parse(started), _parse(finished)
    if start is None or end is None:
        return None
    return round(max(0.0, (end - start).total_seconds()), 3)


def _parse(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
