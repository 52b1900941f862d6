"""Turn a scan's result (or the error that stopped it) into the one ScanReport.

The policy runs here, before any writer, on the scanner's findings plus the deny-list matches
of its inventory (the SBOM it wrote: syft's always, QScanner's with `--sbom`). A scan that
produced no result is an `error` report with the reason, never a clean one (fail closed).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from dispatcher.scancache import code_sha256_hex
from scanner_runner import denylist, inventory
from scanner_runner import publish as publishing
from scanner_runner.acquire import Target
from scanner_runner.errors import DeployscanError, ScannerError
from scanner_runner.job import ScanJob
from scanner_runner.lambdazip import CodeRequest, LambdaTarget
from scanner_runner.policy import DECISION_ERROR, evaluate
from scanner_runner.report import (
    STATUS_ERROR,
    ImageInfo,
    LambdaInfo,
    PolicyResult,
    ScannerInfo,
    ScanReport,
    iso,
)
from scanner_runner.scanners.interface import ScanResult

MAX_ERROR = 600


def build_report(
    job: ScanJob,
    *,
    target: Target | LambdaTarget | None,
    scanner_name: str,
    result: ScanResult | None,
    error: str,
    started: datetime,
    finished: datetime,
    targets: publishing.Targets,
) -> ScanReport:
    """The ScanReport: policy applied to `result`, or an error report when there is none.

    `report_uri` is where publishing to `targets` will put `report.json` ("" when not).
    """
    image = image_info(job)
    if isinstance(target, LambdaTarget):
        image = replace(image, digest=code_digest(target.code.code_sha256))
    elif target is not None:
        image = replace(
            image,
            digest=target.digest,
            image_id=target.image_id,
            platform=image.platform or target.platform,
        )
    report = _report(
        job,
        image,
        scanner_name=scanner_name,
        result=result,
        error=error,
        times=(started, finished),
    )
    if job.code is not None:
        info = lambda_info(job.code, target if isinstance(target, LambdaTarget) else None)
        report = report.with_(lambda_code=info, image=replace(report.image, os=info.runtime))
    return report.with_(report_uri=publishing.report_uri(report, targets, finished))


def _report(
    job: ScanJob,
    image: ImageInfo,
    *,
    scanner_name: str,
    result: ScanResult | None,
    error: str,
    times: tuple[datetime, datetime],
) -> ScanReport:
    started, finished = times
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
    packages = denylist.inventory(result.sbom) if job.policy.deny else ()
    denied = denylist.match(packages, job.policy.deny)
    findings, decision, status = evaluate(
        (*result.findings, *denied),
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
        packages=inventory.from_sbom(result.sbom) if not result.vulnerability_data else (),
        **common,
    )


def lambda_info(code: CodeRequest, target: LambdaTarget | None) -> LambdaInfo:
    """The function or layer as scanned (as asked, when it could not be looked up)."""
    if target is None:
        return LambdaInfo(kind=code.kind, arn=code.arn, code_sha256=code.code_sha256)
    return LambdaInfo(
        kind=code.kind,
        arn=target.code.arn,
        version=target.code.version,
        runtime=target.runtime,
        code_sha256=target.code.code_sha256,
        layers=tuple(layer.arn for layer in target.layers),
        layer_code_sha256=tuple(layer.code_sha256 for layer in target.layers),
    )


def code_digest(code_sha256: str) -> str:
    """`sha256:<hex>` of Lambda's base64 CodeSha256 ("" when it is not one)."""
    try:
        return f"sha256:{code_sha256_hex(code_sha256)}"
    except DeployscanError:
        return ""


def image_info(job: ScanJob) -> ImageInfo:
    """What is known about the image before scanning (from the reference or the archive name);
    for zip code the ARN as `ref` and the function or layer name as `repository`."""
    if job.code is not None:
        name = job.code.arn.split(":")[6]
        digest = code_digest(job.code.code_sha256) if job.code.code_sha256 else ""
        return ImageInfo(ref=job.code.arn, registry="lambda", repository=name, digest=digest)
    if job.image is not None:
        ref = job.image
        return ImageInfo(
            ref=str(ref),
            registry=ref.registry,
            repository=ref.repository,
            tag=ref.tag or "",
            digest=job.wanted_digest,
            platform=job.platform,
        )
    name = job.archive.name if job.archive else "image"
    stem = publishing.segment(name.removesuffix(".tar"), "image")
    return ImageInfo(ref=f"archive:{name}", repository=f"archive/{stem}", platform=job.platform)


def summary_line(report: ScanReport) -> str:
    """One line for the user: status, image, counts and the policy's reason; a scan without
    vulnerability data says `INVENTORY ONLY` next to its status, and has no counts."""
    if report.status == STATUS_ERROR:
        return f"error: {report.error}"
    if not report.vulnerability_data:
        packages = report.inventory_packages
        listed = "packages listed" if packages is None else f"{packages} packages listed"
        return (
            f"{report.status} (INVENTORY ONLY, no vulnerability data): {report.image.ref}: "
            f"{listed}; {report.policy.reason}"
        )
    counts = report.summary
    text = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no findings"
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
