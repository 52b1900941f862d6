"""Publish a finished scan: S3 objects, SNS, the scan-cache record, CodeBuild exported variables.

Clients are passed in. `make_clients` builds them with botocore's standard retry mode, so every
call retries throttling and 5xx answers; what still fails is collected and reported once in
`Published.failures` after the other steps ran. The scan-cache record comes last: a verdict whose
reports did not reach S3, or whose alert did not go out, is recorded but suppresses no rescan.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
from boto3.exceptions import Boto3Error
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from dispatcher.buildvars import SCAN_REPORT_URI, SCAN_STATUS, count_variable
from dispatcher.errors import CacheError, aws_error_text
from dispatcher.scancache import COMPLETED_STATUSES, ScanCacheTable, Verdict
from scanner_runner import integrations
from scanner_runner.errors import PublishError
from scanner_runner.notify import message, subject_verdict
from scanner_runner.report import SEVERITIES, ScanReport, iso, write_atomic
from scanner_runner.scanners.syft import NAME as SYFT
from scanner_runner.writers import FORMATS, write_all
from scanner_runner.writers.interface import one_line, short_digest

RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})
EXPORTED_FILE = "exported-variables.env"
RAW_DIRS = ("qscanner", "syft")
SBOM_FILE = "sbom.cdx.json"
_SEGMENT_RE = re.compile(r"[^A-Za-z0-9._-]+")
_SUBJECT_LIMIT = 100
_CONTENT_TYPES = {f.filename: f.media_type for f in FORMATS.values()} | {
    SBOM_FILE: "application/vnd.cyclonedx+json"
}


@dataclass(frozen=True)
class Targets:
    """Where results go; empty fields switch that step off."""

    bucket: str = ""
    prefix: str = "deployscan"
    kms_key_id: str = ""
    table: str = ""
    ttl_hours: int = 24
    topic_arn: str = ""
    security_hub: bool = False  # import ASFF findings into this account's Security Hub
    event_bus: str = ""  # put a `Scan Completed` event here ("default": the default bus)


@dataclass(frozen=True)
class Clients:
    """The AWS clients publishing uses (any of them may be None when its step is off)."""

    s3: Any = None
    dynamodb: Any = None
    sns: Any = None
    securityhub: Any = None
    sts: Any = None
    events: Any = None


@dataclass(frozen=True)
class Published:
    """What was published, and what failed after retries (empty when everything went out)."""

    report_uri: str
    keys: tuple[str, ...]
    cache_keys: tuple[str, ...]
    notified: bool
    failures: tuple[str, ...] = ()
    stored: bool = True  # every file reached S3 (or S3 is off)
    warnings: tuple[str, ...] = ()  # reported, but the build's verdict stands (Security Hub)
    report: ScanReport | None = None  # the report as published (with those warnings)

    @property
    def failed(self) -> bool:
        """True when any configured step failed."""
        return bool(self.failures)


def make_clients(targets: Targets, session: Any = None) -> Clients:
    """boto3 clients with standard retries, only for the steps that are configured;
    PublishError when botocore cannot make one (no region, a broken AWS config)."""
    try:
        factory = session or boto3.session.Session()

        def client(name: str, needed: str) -> Any:
            return factory.client(name, config=RETRY_CONFIG) if needed else None

        return Clients(
            s3=client("s3", targets.bucket),
            dynamodb=client("dynamodb", targets.table),
            sns=client("sns", targets.topic_arn),
            securityhub=client("securityhub", "on" if targets.security_hub else ""),
            sts=client("sts", "on" if targets.security_hub else ""),
            events=client("events", targets.event_bus),
        )
    except BotoCoreError as exc:
        raise PublishError(f"cannot make the AWS clients: {aws_error_text(exc)}") from exc


def segment(value: str, fallback: str) -> str:
    """One safe S3 key segment: no slashes, no `..`, only `[A-Za-z0-9._-]`."""
    cleaned = _SEGMENT_RE.sub("_", value).strip("._") or fallback
    return cleaned[:200]


def key_prefix(report: ScanReport, prefix: str, when: datetime) -> str:
    """`<prefix>/<account>/<region>/<repository>/<digest>/<UTC timestamp>-<build id>/`; zip code:
    the function's or layer's own account, region and name, and `sha256-<hex>` of its code."""
    parts = [segment(p, "") for p in prefix.split("/")]
    account, region = report.trigger.account, report.trigger.region
    if report.lambda_code is not None:  # the ARN was validated: …:lambda:<region>:<account>:…
        _, _, _, region, account, *_ = report.lambda_code.arn.split(":") + [""] * 5
    repository = [segment(p, "_") for p in (report.image.repository or "unknown").split("/")]
    digest = report.image.identity or "unknown-digest"
    stamp = when.strftime("%Y%m%dT%H%M%SZ")
    parts += [
        segment(account, "unknown-account"),
        segment(region, "unknown-region"),
        *repository,
        segment(digest.replace(":", "-"), "unknown-digest"),
        f"{stamp}-{segment(report.build_id, 'local')}",
    ]
    return "/".join(p for p in parts if p) + "/"


def files_to_upload(output_dir: Path) -> list[tuple[Path, str]]:
    """(path, relative key) for the reports, raw scanner files and SBOM in `output_dir`."""
    found: list[tuple[Path, str]] = []
    for name in [f.filename for f in FORMATS.values()] + [SBOM_FILE]:
        path = output_dir / name
        if path.is_file():
            found.append((path, name))
    for raw in RAW_DIRS:
        base = output_dir / raw
        if base.is_dir():
            for path in sorted(p for p in base.rglob("*") if p.is_file() and not p.is_symlink()):
                found.append((path, path.relative_to(output_dir).as_posix()))
    return found


def report_uri(report: ScanReport, targets: Targets, when: datetime) -> str:
    """Where `report.json` of this report goes in S3 ("" when S3 is off)."""
    if not targets.bucket:
        return ""
    return f"s3://{targets.bucket}/{key_prefix(report, targets.prefix, when)}report.json"


def publish(
    report: ScanReport,
    output_dir: Path,
    *,
    targets: Targets,
    clients: Clients,
    cache_keys: Iterable[str],
    now: datetime,
) -> Published:
    """Run every configured step (Security Hub, S3 to `report.report_uri`, SNS, EventBridge,
    the scan cache)."""
    failures: list[str] = []
    warnings: tuple[str, ...] = ()
    if targets.security_hub:
        stamp = iso(now)
        warnings = integrations.security_hub(report, clients, stamp).warnings
        if warnings:  # the reports say it too, not only the build log
            report = integrations.with_warnings(report, warnings)
            write_all(report, output_dir)
    keys: list[str] = []
    uri = report.report_uri if targets.bucket else ""
    prefix = uri.removeprefix(f"s3://{targets.bucket}/").removesuffix("report.json")
    if uri:
        for path, relative in files_to_upload(output_dir):
            try:
                _upload(clients.s3, targets, path, prefix + relative)
                keys.append(prefix + relative)
            except (ClientError, BotoCoreError, Boto3Error, OSError) as exc:
                failures.append(f"S3 upload of {relative}: {aws_error_text(exc)}")
    stored = not failures
    notified = False
    if targets.topic_arn and should_notify(report):
        try:
            clients.sns.publish(
                TopicArn=targets.topic_arn,
                Subject=subject(report),
                Message=message(report, uri if stored else "", _region(clients.s3)),
            )
            notified = True
        except (ClientError, BotoCoreError) as exc:
            failures.append(f"SNS publish: {aws_error_text(exc)}")
    if targets.event_bus:
        failures += integrations.send_scan_completed(
            report, clients.events, targets.event_bus, stored
        )
    done_keys: list[str] = []
    if targets.table:
        # Without its reports in S3 or its alert sent, a verdict must not suppress the next try.
        # Inventory-only is kept only from syft (a rescan learns no more); the gate reads the flag.
        complete = report.vulnerability_data or report.scanner.name == SYFT
        keep = not failures and report.status in COMPLETED_STATUSES and complete
        verdict = Verdict(
            status=report.status,
            image=report.image.ref,
            build_id=report.build_id,
            report_uri=uri if stored else "",
            counts=report.summary,
            compute_tier=report.trigger.compute_tier,
            vulnerability_data=report.vulnerability_data,
            reason=report.policy.reason,
        )
        table = ScanCacheTable(clients.dynamodb, targets.table)
        for cache_key in dict.fromkeys(cache_keys):
            try:
                table.record(
                    cache_key,
                    verdict,
                    now=now.timestamp(),
                    keep_seconds=targets.ttl_hours * 3600 if keep else 0,
                )
                done_keys.append(cache_key)
            except CacheError as exc:
                failures.append(f"scan-cache update of {cache_key}: {exc}")
    return Published(
        uri, tuple(keys), tuple(done_keys), notified, tuple(failures), stored, warnings, report
    )


def _upload(s3: Any, targets: Targets, path: Path, key: str) -> None:
    extra: dict[str, str] = {"ContentType": _CONTENT_TYPES.get(path.name, "application/json")}
    if targets.kms_key_id:
        extra |= {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": targets.kms_key_id}
    else:
        extra["ServerSideEncryption"] = "AES256"
    if path.suffix not in (".json", ".xml", ".html", ".md"):
        extra["ContentType"] = "text/plain" if path.suffix == ".log" else "application/octet-stream"
    s3.upload_file(str(path), targets.bucket, key, ExtraArgs=extra)


def should_notify(report: ScanReport) -> bool:
    """Notify when the policy failed, the scan errored, or critical/high findings exist."""
    counts = report.summary
    return report.status != "passed" or counts["critical"] > 0 or counts["high"] > 0


def subject(report: ScanReport) -> str:
    """`deployscan: <repo>@<short digest> 2C/5H FAILED` (no counts for an error or inventory-only
    scan: see `notify.subject_verdict`), printable ASCII, one line, at most 100 chars."""
    tail = " " + subject_verdict(report)
    digest = _ascii(short_digest(report.image.identity)) or "unknown"
    repo = _ascii(report.image.repository) or "image"
    room = _SUBJECT_LIMIT - len("deployscan: ") - len(digest) - 1 - len(tail)
    if len(repo) > room:
        repo = "..." + repo[-(room - 3) :]
    return f"deployscan: {repo}@{digest}{tail}"


def _ascii(text: str) -> str:
    """`text` on one line of printable ASCII (SNS refuses anything else in a subject)."""
    return "".join(c if " " <= c <= "~" else "?" for c in one_line(text))


def exported_variables(report: ScanReport, status: str, report_uri: str) -> str:
    """`NAME=<shell-quoted value>` lines for CodeBuild's exported-variables."""
    counts = report.summary
    values = {SCAN_STATUS: status}
    values |= {count_variable(s): str(counts[s]) for s in SEVERITIES}
    values[SCAN_REPORT_URI] = report_uri
    return "".join(f"{name}={shlex.quote(value)}\n" for name, value in values.items())


def write_exported_variables(output_dir: Path, report: ScanReport, status: str, uri: str) -> Path:
    """Write `exported-variables.env` atomically; returns its path."""
    path = output_dir / EXPORTED_FILE
    write_atomic(path, exported_variables(report, status, uri))
    return path


def _region(client: Any) -> str:
    """The region a client talks to ("" without a client)."""
    return str(client.meta.region_name or "") if client is not None else ""
