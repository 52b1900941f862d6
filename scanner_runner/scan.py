"""The runner's core: acquire (pull or take an archive) -> scan -> policy -> write -> publish.

Fail closed: a pull error, a scanner failure or an unusable result is an `error` report (exit 3),
never a clean one. Collaborators (scanner options, AWS clients, clock, pull) come in `Runtime`.
Each step lives in its own module and is called once: `acquire`, `scanners`, `assemble` (the
report, with the policy applied), `writers`, `publish`.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from dispatcher.exitcodes import ExitCode, for_status
from scanner_runner import assemble, outdir, writers
from scanner_runner import publish as publishing
from scanner_runner.acquire import Target, acquire, acquire_code, code_scan_request
from scanner_runner.errors import DeployscanError, PublishError
from scanner_runner.job import Runtime, ScanJob
from scanner_runner.lambdazip import LambdaTarget
from scanner_runner.report import STATUS_ERROR, ScanReport
from scanner_runner.scanners import default_scanner_name, make_scanner
from scanner_runner.scanners.interface import ScanRequest, ScanResult, redact
from scanner_runner.whereruns import with_where


@dataclass(frozen=True)
class Outcome:
    """The report, the process exit code and a one-line message for the user. `verdict` is the
    build's final status (the exit code's): the report's, or error when publishing failed."""

    report: ScanReport
    exit_code: int
    message: str
    verdict: str
    published: publishing.Published | None = None


@dataclass(frozen=True)
class _Scanned:
    target: Target | LambdaTarget | None
    result: ScanResult | None
    error: str


def run_scan(job: ScanJob, runtime: Runtime, *, cannot_start: str = "") -> Outcome:
    """Run the whole scan and return its outcome; `cannot_start` (e.g. an unreadable ignore list)
    makes it an error report without scanning. The only DeployscanError it raises is
    OutputDirError, before anything is touched (see `outdir.claim`)."""
    with outdir.claim(job.output_dir):
        try:
            return _run(job, runtime, cannot_start)
        except KeyboardInterrupt:  # also SIGTERM (signals.Terminated)
            outdir.clear(job.output_dir)  # an interrupted run leaves nothing half-written
            raise


def _run(job: ScanJob, runtime: Runtime, cannot_start: str) -> Outcome:
    started = runtime.clock()
    runtime = _with_clients(runtime)
    outdir.clear(job.output_dir)
    scanner_name = job.scanner or default_scanner_name(runtime.options)
    with _work_dir(job.work_dir) as work:  # removed on the way out, interrupted or not
        if cannot_start:
            scanned = _Scanned(None, None, _one_line(job, runtime, cannot_start))
        else:
            scanned = _acquire_and_scan(job, runtime, scanner_name, work)
        finished = runtime.clock()
        report = assemble.build_report(
            job,
            target=scanned.target,
            scanner_name=scanner_name,
            result=scanned.result,
            error=scanned.error,
            started=started,
            finished=finished,
            targets=runtime.targets,
        )
        report = with_where(report, runtime.targets, runtime.clients, finished,
                            runtime.boto3_session)  # fmt: skip
        sbom = scanned.result.sbom if scanned.result is not None else None
        _write(report, job.output_dir, sbom)
    return _publish(job, runtime, report, finished)


def _acquire_and_scan(job: ScanJob, runtime: Runtime, scanner_name: str, work: Path) -> _Scanned:
    target: Target | LambdaTarget | None = None
    try:
        scanner = make_scanner(scanner_name, runtime.options)
        if job.code is not None:
            target = acquire_code(job, runtime, work)
            request = code_scan_request(target, job, job.output_dir / scanner.name, work)
        else:
            target = acquire(job, runtime, work)
            request = ScanRequest(
                archive=target.archive,
                archive_format=target.format,
                image_id=target.image_id,
                output_dir=job.output_dir / scanner.name,
                work_dir=work,
                timeout=job.timeout,
                policy_tags=job.policy.tags,
                manifest_digest=target.manifest_digest,
            )
        result = scanner.scan(request)
    except (DeployscanError, OSError) as exc:
        # Any failure to pull or scan, expected or not, is an error report (fail closed).
        text = assemble.describe(exc) if isinstance(exc, DeployscanError) else _os_error(exc)
        return _Scanned(target, None, _one_line(job, runtime, text))
    return _Scanned(target, result, "")


def _one_line(job: ScanJob, runtime: Runtime, text: str) -> str:
    """An error for the report: one line, every secret this run holds redacted."""
    secrets = tuple(s for s in (*runtime.secrets, *runtime.options.credentials.secrets(),
                                job.creds) if s)  # fmt: skip
    return assemble.one_line(redact(text, secrets))


def _write(report: ScanReport, output_dir: Path, sbom: Path | None) -> None:
    if sbom is not None and sbom.is_file():
        shutil.copyfile(sbom, output_dir / publishing.SBOM_FILE)
    writers.write_all(report, output_dir)


def _publish(job: ScanJob, runtime: Runtime, report: ScanReport, now: datetime) -> Outcome:
    exit_code = for_status(report.status)
    message = assemble.summary_line(report)
    status, uri, published = report.status, report.report_uri, None
    targets = runtime.targets
    if _publishes(targets):
        try:
            clients = runtime.clients or publishing.make_clients(targets, runtime.boto3_session)
            published = publishing.publish(
                report,
                job.output_dir,
                targets=targets,
                clients=clients,
                cache_keys=job.cache_keys(
                    report.lambda_code.code_sha256 if report.lambda_code else report.image.digest
                ),
                now=now,
            )
        except PublishError as exc:
            published = publishing.Published("", (), (), False, (str(exc),), stored=False)
        report = published.report or report
        if published.warnings:  # into the build log; the reports already carry them
            message = f"{message}; " + assemble.one_line(
                "warning: " + "; ".join(published.warnings)
            )
        if published.failed:
            exit_code, status = ExitCode.ERROR, STATUS_ERROR
            message = f"{message}; " + assemble.one_line(
                "publishing failed: " + "; ".join(published.failures)
            )
        if not published.stored:  # the local reports must not point at what was never written
            uri = ""
            writers.write_all(report.with_(report_uri=""), job.output_dir)
    publishing.write_exported_variables(job.output_dir, report, status, uri)
    return Outcome(report, int(exit_code), message, status, published)


def _publishes(targets: publishing.Targets) -> bool:
    """Whether any publishing step is configured (and so AWS clients are needed)."""
    return bool(
        targets.bucket or targets.table or targets.topic_arn or targets.security_hub
        or targets.event_bus
    )  # fmt: skip


def _with_clients(runtime: Runtime) -> Runtime:
    """`runtime` with the build's AWS clients, made once for where-it-runs and publishing;
    unchanged when none are needed or they cannot be made (publishing then says why)."""
    if runtime.clients is not None or not _publishes(runtime.targets):
        return runtime
    try:
        clients = publishing.make_clients(runtime.targets, runtime.boto3_session)
    except PublishError:
        return runtime
    return replace(runtime, clients=clients)


def _os_error(exc: OSError) -> str:
    where = f" {Path(exc.filename).name}" if exc.filename else ""
    return f"cannot scan: {exc.strerror or type(exc).__name__}{where}"


@contextmanager
def _work_dir(given: Path | None) -> Iterator[Path]:
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="deployscan-") as tmp:
        yield Path(tmp)
