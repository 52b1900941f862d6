"""The runner's core: pull (or take an archive) -> scan -> policy -> write -> publish -> outcome.

Fail closed: a pull error, a scanner failure or an unusable result is an `error` report (exit 3),
never a clean one. Collaborators (scanner options, AWS clients, clock, pull) are injected.
Steps live beside this module: `acquire` (the archive), `assemble` (the report and policy),
`writers`, `publish`.
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

from scanner_runner import assemble, writers
from scanner_runner import publish as publishing
from scanner_runner.acquire import acquire
from scanner_runner.errors import DeployscanError, PublishError
from scanner_runner.policy import Policy
from scanner_runner.report import STATUS_ERROR, ScanReport, TriggerInfo
from scanner_runner.scanners import default_scanner_name, make_scanner
from scanner_runner.scanners.interface import ScannerOptions, ScanRequest, ScanResult, redact

EXIT_PASSED, EXIT_FAILED, EXIT_USAGE, EXIT_ERROR = 0, 1, 2, 3
EXIT_CODES = {"passed": EXIT_PASSED, "failed": EXIT_FAILED, "error": EXIT_ERROR}


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
    docker_config: Path | None = None
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


def run_scan(job: ScanJob, runtime: Runtime) -> Outcome:
    """Run the whole scan and return its outcome (it never raises DeployscanError)."""
    started = runtime.clock()
    secrets = (*runtime.secrets, *runtime.options.credentials.secrets(), job.creds)
    _clear_outputs(job.output_dir)
    scanner_name = job.scanner or default_scanner_name(runtime.options)
    image = assemble.image_info(job)
    result: ScanResult | None = None
    error = ""
    with _work_dir(job.work_dir) as work:
        try:
            target = acquire(job, runtime, work)
            image = replace(
                image,
                digest=target.digest,
                image_id=target.image_id,
                platform=image.platform or target.platform,
            )
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
        except (DeployscanError, OSError) as exc:
            # Any failure to pull or scan, expected or not, is an error report (fail closed).
            text = assemble.describe(exc) if isinstance(exc, DeployscanError) else _os_error(exc)
            error = assemble.one_line(redact(text, tuple(s for s in secrets if s)))
    finished = runtime.clock()
    report = assemble.build_report(
        job,
        image=image,
        scanner_name=scanner_name,
        result=result,
        error=error,
        started=started,
        finished=finished,
    )
    return _write_and_publish(job, runtime, report, result, finished)


def _write_and_publish(
    job: ScanJob, runtime: Runtime, report: ScanReport, result: ScanResult | None, now: datetime
) -> Outcome:
    keys = assemble.cache_keys(job, report)
    uri, prefix = "", ""
    if runtime.targets.bucket:
        prefix = publishing.key_prefix(report, runtime.targets.prefix, now)
        uri = f"s3://{runtime.targets.bucket}/{prefix}report.json"
        report = report.with_(report_uri=uri)
    if result is not None and result.sbom is not None and result.sbom.is_file():
        shutil.copyfile(result.sbom, job.output_dir / publishing.SBOM_FILE)
    writers.write_all(report, job.output_dir)

    exit_code = EXIT_CODES[report.status]
    message = assemble.summary_line(report)
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
                now=now,
            )
        except PublishError as exc:
            exit_code, status, uri = EXIT_ERROR, STATUS_ERROR, ""
            message = f"{message}; {assemble.one_line(str(exc))}"
    publishing.write_exported_variables(job.output_dir, report, status, uri)
    return Outcome(report, exit_code, message, published)


def _os_error(exc: OSError) -> str:
    where = f" {Path(exc.filename).name}" if exc.filename else ""
    return f"cannot scan: {exc.strerror or type(exc).__name__}{where}"


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
