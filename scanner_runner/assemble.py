"""Turn a scan's result (or the error that stopped it) into the one ScanReport.

The policy runs here, before any writer. A scan that produced no result is an `error` report
with the reason, never a clean one (fail closed).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dispatcher.imageref import ImageRef
from dispatcher.scancache import cache_key
from scanner_runner import publish as publishing
from scanner_runner.errors import ScannerError
from scanner_runner.policy import DECISION_ERROR, evaluate
from scanner_runner.report import (
    STATUS_ERROR,
    ImageInfo,
    PolicyResult,
    ScannerInfo,
    ScanReport,
)
from scanner_runner.scanners.interface import ScanResult

if TYPE_CHECKING:
    from scanner_runner.scan import ScanJob

MAX_ERROR = 600


def build_report(
    job: ScanJob,
    *,
    image: ImageInfo,
    scanner_name: str,
    result: ScanResult | None,
    error: str,
    started: datetime,
    finished: datetime,
) -> ScanReport:
    """The ScanReport: policy applied to `result`, or an error report when there is none."""
    common: dict[str, Any] = {
        "trigger": job.trigger,
        "started_at": iso(started),
        "finished_at": iso(finished),
        "build_id": job.build_id,
    }
    if result is None:
        reason = f"could not scan: {error}"
        return ScanReport(
            image=image,
            scanner=ScannerInfo(scanner_name),
            status=STATUS_ERROR,
            policy=PolicyResult(DECISION_ERROR, reason, job.policy.thresholds()),
            vulnerability_data=False,
            error=error,
            **common,
        )
    findings, decision, status = evaluate(
        result.findings,
        job.policy,
        today=finished.date(),
        verdict=result.verdict,
        vulnerability_data=result.vulnerability_data,
    )
    return ScanReport(
        image=replace(image, os=result.os),
        scanner=ScannerInfo(result.name, result.version, result.mode, result.verdict),
        status=status,
        policy=decision,
        findings=findings,
        vulnerability_data=result.vulnerability_data,
        inventory_packages=result.inventory_packages,
        **common,
    )


def image_info(job: ScanJob) -> ImageInfo:
    """What is known about the image before scanning (from the reference or the archive name)."""
    if job.image:
        ref = ImageRef.parse(job.image)
        return ImageInfo(
            ref=str(ref),
            registry=ref.registry,
            repository=ref.repository,
            tag=ref.tag or "",
            digest=job.digest or ref.digest or "",
            platform=job.platform,
        )
    name = job.archive.name if job.archive else "image"
    stem = publishing.segment(name.removesuffix(".tar"), "image")
    return ImageInfo(ref=f"archive:{name}", repository=f"archive/{stem}", platform=job.platform)


def cache_keys(job: ScanJob, report: ScanReport) -> list[str]:
    """The digest's item, plus the `ref#` lease when the dispatcher had no digest."""
    keys = []
    if report.image.digest:
        keys.append(f"digest#{report.image.digest}")
    if job.image and not job.digest:
        ref = ImageRef.parse(job.image)
        if not ref.digest:
            keys.append(cache_key(ref))
    return keys


def summary_line(report: ScanReport) -> str:
    """One line for the user: status, image, counts and the policy's reason."""
    counts = report.summary
    text = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no findings"
    if report.status == STATUS_ERROR:
        return f"error: {report.error}"
    if not report.vulnerability_data:
        text = f"inventory only ({report.inventory_packages or 0} packages, no vulnerability data)"
    return f"{report.status}: {report.image.ref}: {text}; {report.policy.reason}"


def describe(exc: Exception) -> str:
    """An error's text, with the last line of a scanner's stderr when there is one."""
    text = str(exc)
    if isinstance(exc, ScannerError) and exc.stderr.strip():
        last = exc.stderr.strip().splitlines()[-1]
        text = f"{text}: {last}"
    return text


def one_line(text: str) -> str:
    """`text` on one line, at most MAX_ERROR characters."""
    line = " ".join(text.split())
    return line if len(line) <= MAX_ERROR else line[: MAX_ERROR - 1] + "\u2026"


def iso(moment: datetime) -> str:
    """UTC timestamp as in the report: `2026-03-01T10:00:00Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
