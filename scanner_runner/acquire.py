"""Step one of a scan: the image archive to scan, taken as given (`--archive`) or pulled.

Either way the archive is inspected and verified here, before any scanner sees it: the image ID
the scanner must report is the archive's own; a pull or an archive that is not the digest asked
for is refused; every layer must match its digests, and the layers together may unpack to at most
the job's `max_unpacked_bytes`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dispatcher.buildvars import IMAGE_DIGEST
from scanner_runner.errors import PullError, ScannerError
from scanner_runner.job import Runtime, ScanJob
from scanner_runner.lambdazip import LambdaTarget, fetch, lambda_client
from scanner_runner.scanners.archive import ArchiveInfo, inspect_archive
from scanner_runner.scanners.interface import DIRECTORY_FORMAT, ScanRequest
from scanner_runner.scanners.layers import verify_layers

ARCHIVE_FORMAT = "oci-archive"


@dataclass(frozen=True)
class Target:
    """The archive to scan and the identity it was checked to have."""

    archive: Path
    format: str
    image_id: str
    manifest_digest: str
    digest: str
    platform: str = ""


def acquire(job: ScanJob, runtime: Runtime, work: Path) -> Target:
    """The job's archive, or the image pulled into `work`; PullError/ScannerError otherwise."""
    if job.archive is not None:
        info = inspect_archive(job.archive, job.platform)
        _check_wanted(job, info)
        verify_layers(job.archive, info, job.max_unpacked_bytes)
        digest = job.wanted_digest or info.manifest_digest
        return Target(
            job.archive, info.format, info.image_id, info.manifest_digest, digest, info.platform
        )
    if job.image is None:
        raise ScannerError("nothing to scan: no image and no archive")
    pull = runtime.pull or _default_pull()
    # Pull exactly what the dispatcher resolved, even if the tag has moved since.
    image = job.image.with_digest(job.digest) if job.digest else job.image
    pulled = pull(
        image,
        work / "image.tar",
        platform=job.platform or None,
        fmt=ARCHIVE_FORMAT,
        creds=job.creds or None,
        registry_credentials_arn=job.registry_credentials_arn or None,
        pull_role_arn=job.pull_role_arn or None,
        insecure_registries=job.insecure_registries,
        docker_config=job.docker_config,
        progress=False,
        boto3_session=runtime.boto3_session,
    )
    info = inspect_archive(pulled.archive, job.platform)
    if info.image_id != pulled.config_digest:
        raise ScannerError("the pulled archive's config does not match the pulled manifest")
    if job.digest and job.digest not in (pulled.digest, pulled.manifest_digest):
        raise PullError(f"pulled {pulled.digest}, not the requested {job.digest}")
    verify_layers(pulled.archive, info, job.max_unpacked_bytes)
    digest = job.digest or pulled.digest
    return Target(
        pulled.archive, info.format, info.image_id, pulled.manifest_digest, digest, pulled.platform
    )


def acquire_code(job: ScanJob, runtime: Runtime, work: Path) -> LambdaTarget:
    """The job's zip function (with its layers) or layer version, verified and unpacked."""
    if job.code is None:
        raise ScannerError("nothing to scan: no Lambda code")
    client = lambda_client(job.code.arn, job.code.role_arn, runtime.boto3_session)
    return fetch(job.code, work, client)


def code_scan_request(target: LambdaTarget, job: ScanJob, out: Path, work: Path) -> ScanRequest:
    """The scanner's request for an unpacked tree: a directory, identified by its code hash."""
    return ScanRequest(
        archive=target.root,
        archive_format=DIRECTORY_FORMAT,
        image_id=target.code.code_sha256,
        output_dir=out,
        work_dir=work,
        timeout=job.timeout,
        policy_tags=job.policy.tags,
    )


def _check_wanted(job: ScanJob, info: ArchiveInfo) -> None:
    """Refuse an archive that is not the digest the job names (what is recorded is what was
    scanned): --digest/IMAGE_DIGEST and the reference's digest must each name this archive."""
    wanted = [(IMAGE_DIGEST.name, job.digest)]
    if job.image is not None and job.image.digest:
        wanted.append(("the image reference's digest", job.image.digest))
    for source, digest in wanted:
        if not digest:
            continue
        if not info.digests:
            raise ScannerError(
                f"a docker-archive carries no manifest digest: {source} {digest} cannot be "
                "verified (give an oci-archive, or no digest)"
            )
        if digest not in info.digests:
            raise ScannerError(
                f"{source} {digest} is not this archive's (its manifest is {info.manifest_digest})"
            )


def _default_pull() -> Callable[..., Any]:
    from scanner_runner.registry import pull  # noqa: PLC0415 (requests only when pulling)

    return pull
