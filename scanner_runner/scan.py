"""The runner's core: pull (or take an archive) -> scan -> policy -> write -> publish -> outcome.

Fail closed: a pull error, a scanner failure or an unusable result is an `error` report (exit 3),
never a clean one. Collaborators (scanner options, AWS clients, clock, pull) are injected.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dispatcher.imageref import ImageRef
from dispatcher.scancache import cache_key
from scanner_runner import publish as publishing
from scanner_runner import writers
from scanner_runner.errors import PublishError, PullError, ScannerError
from scanner_runner.policy import DECISION_ERROR, Policy, evaluate
from scanner_runner.report import (
    STATUS_ERROR,
    ImageInfo,
    PolicyResult,
    ScannerInfo,
    ScanReport,
    TriggerInfo,
)
from scanner_runner.scanners import default_scanner_name, make_scanner
from scanner_runner.scanners.archive import inspect_archive
from scanner_runner.scanners.interface import ScannerOptions, ScanRequest, ScanResult, redact

EXIT_PASSED, EXIT_FAILED, EXIT_USAGE, EXIT_ERROR = 0, 1, 2, 3
EXIT_CODES = {"passed": EXIT_PASSED, "failed": EXIT_FAILED, "error": EXIT_ERROR}
ARCHIVE_FORMAT = "oci-archive"
MAX_ERROR = 600


@dataclass(frozen=True)
class ScanJob:
    """What to scan and why (from the CLI options / build variables)."""

    output_dir: Path
    image: str = ""
    archive: Path | None = None
    digest: str = ""
    platform: str = ""
    trigger: TriggerInfo = field(default_factory=TriggerInfo)
    build_id: str = ""
    scanner: str = ""
    policy: Policy = field(default_factory=Policy)
    timeout: float = 300.0
    creds: str = field(default="", repr=False)
    registry_credentials_arn: str = ""
    pull_role_arn: str = ""
    insecure_registries: tuple[str, ...] = ()
    work_dir: Path | None = None


@dataclass(frozen=True)
class Runtime:
    """Injected collaborators."""

    options: ScannerOptions
    targets: publishing.Targets = field(default_factory=publishing.Targets)
    clients: publishing.Clients | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    pull: Callable[..., Any] | None = None
    boto3_session: Any = None
    secrets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """The report, the process exit code and a one-line message for the user."""

    report: ScanReport
    exit_code: int
    message: str
    published: publishing.Published | None = None


@dataclass(frozen=True)
class _Target:
    archive: Path
    format: str
    image_id: str
    manifest_digest: str
    digest: str


def run_scan(job: ScanJob, runtime: Runtime) -> Outcome:
    """Run the whole scan and return its outcome (it never raises DeployscanError)."""
    started = runtime.clock()
    secrets = (*runtime.secrets, *runtime.options.credentials.secrets(), job.creds)
    _clear_outputs(job.output_dir)
    scanner_name = job.scanner or default_scanner_name(runtime.options)
    image = _image_info(job)
    result: ScanResult | None = None
    error = ""
    with _work_dir(job.work_dir) as work:
        try:
            target = _acquire(job, runtime, work)
            image = replace(image, digest=target.digest, image_id=target.image_id)
            scanner = make_scanner(scanner_name, runtime.options)
            result = scanner.scan(
                ScanRequest(
                    archive=target.archive,
                    archive_format=target.format,
                    image_id=target.image_id,
                    output_dir=job.output_dir / scanner.name,
                    work_dir=work,
                    timeout=job.timeout,
                    policy_tags=job.policy.tags,
                    manifest_digest=target.manifest_digest,
                )
            )
        except (PullError, ScannerError) as exc:
            error = _one_line(redact(_describe(exc), tuple(s for s in secrets if s)))
    finished = runtime.clock()
    report = _report(
        job,
        image=image,
        scanner_name=scanner_name,
        result=result,
        error=error,
        started=started,
        finished=finished,
    )
    keys = _cache_keys(job, report)
    uri, prefix = "", ""
    if runtime.targets.bucket:
        prefix = publishing.key_prefix(report, runtime.targets.prefix, finished)
        uri = f"s3://{runtime.targets.bucket}/{prefix}report.json"
        report = report.with_(report_uri=uri)
    if result is not None and result.sbom is not None and result.sbom.is_file():
        shutil.copyfile(result.sbom, job.output_dir / publishing.SBOM_FILE)
    writers.write_all(report, job.output_dir)

    exit_code = EXIT_CODES[report.status]
    message = _summary_line(report)
    published = None
    status = report.status
    if runtime.targets.bucket or runtime.targets.table or runtime.targets.topic_arn:
        clients = runtime.clients or publishing.make_clients(runtime.targets, runtime.boto3_session)
        try:
            published = publishing.publish(
                report,
                job.output_dir,
                targets=runtime.targets,
                clients=clients,
                prefix_key=prefix,
                cache_keys=keys,
                now=finished,
            )
        except PublishError as exc:
            exit_code, status, uri = EXIT_ERROR, STATUS_ERROR, ""
            message = f"{message}; {_one_line(str(exc))}"
    publishing.write_exported_variables(job.output_dir, report, status, uri)
    return Outcome(report, exit_code, message, published)


def _acquire(job: ScanJob, runtime: Runtime, work: Path) -> _Target:
    if job.archive is not None:
        info = inspect_archive(job.archive, job.platform)
        digest = job.digest or _ref_digest(job.image) or info.manifest_digest
        return _Target(job.archive, info.format, info.image_id, info.manifest_digest, digest)
    pull = runtime.pull or _default_pull()
    image = ImageRef.parse(job.image)
    if job.digest:
        # Pull exactly what the dispatcher resolved, even if the tag has moved since.
        image = image.with_digest(job.digest)
    pulled = pull(
        image,
        work / "image.tar",
        platform=job.platform or None,
        fmt=ARCHIVE_FORMAT,
        creds=job.creds or None,
        registry_credentials_arn=job.registry_credentials_arn or None,
        pull_role_arn=job.pull_role_arn or None,
        insecure_registries=job.insecure_registries,
        progress=False,
        boto3_session=runtime.boto3_session,
    )
    info = inspect_archive(pulled.archive, job.platform)
    if info.image_id != pulled.config_digest:
        raise ScannerError("the pulled archive's config does not match the pulled manifest")
    if job.digest and job.digest not in (pulled.digest, pulled.manifest_digest):
        raise PullError(f"pulled {pulled.digest}, not the requested {job.digest}")
    digest = job.digest or pulled.digest
    return _Target(pulled.archive, info.format, info.image_id, pulled.manifest_digest, digest)


def _default_pull() -> Callable[..., Any]:
    from scanner_runner.registry import pull  # noqa: PLC0415 (requests only when pulling)

    return pull


def _report(
    job: ScanJob,
    *,
    image: ImageInfo,
    scanner_name: str,
    result: ScanResult | None,
    error: str,
    started: datetime,
    finished: datetime,
) -> ScanReport:
    common: dict[str, Any] = {
        "trigger": job.trigger,
        "started_at": _iso(started),
        "finished_at": _iso(finished),
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


def _image_info(job: ScanJob) -> ImageInfo:
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


def _ref_digest(image: str) -> str:
    return (ImageRef.parse(image).digest or "") if image else ""


def _cache_keys(job: ScanJob, report: ScanReport) -> list[str]:
    """The digest's item, plus the `ref#` lease when the dispatcher had no digest."""
    keys = []
    if report.image.digest:
        keys.append(f"digest#{report.image.digest}")
    if job.image and not job.digest:
        ref = ImageRef.parse(job.image)
        if not ref.digest:
            keys.append(cache_key(ref))
    return keys


def _summary_line(report: ScanReport) -> str:
    counts = report.summary
    text = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no findings"
    if report.status == STATUS_ERROR:
        return f"error: {report.error}"
    if not report.vulnerability_data:
        text = f"inventory only ({report.inventory_packages or 0} packages, no vulnerability data)"
    return f"{report.status}: {report.image.ref}: {text}; {report.policy.reason}"


def _describe(exc: Exception) -> str:
    text = str(exc)
    if isinstance(exc, ScannerError) and exc.stderr.strip():
        last = exc.stderr.strip().splitlines()[-1]
        text = f"{text}: {last}"
    return text


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_ERROR else line[: MAX_ERROR - 1] + "\u2026"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _clear_outputs(output_dir: Path) -> None:
    """Remove what an earlier run left here, so nothing stale is published with this scan."""
    output_dir.mkdir(parents=True, exist_ok=True)
    for name in [f.filename for f in writers.FORMATS.values()]:
        (output_dir / name).unlink(missing_ok=True)
    (output_dir / publishing.SBOM_FILE).unlink(missing_ok=True)
    (output_dir / publishing.EXPORTED_FILE).unlink(missing_ok=True)
    for raw in publishing.RAW_DIRS:
        if (output_dir / raw).is_dir():
            shutil.rmtree(output_dir / raw)


@contextmanager
def _work_dir(given: Path | None) -> Iterator[Path]:
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="deployscan-") as tmp:
        yield Path(tmp)
