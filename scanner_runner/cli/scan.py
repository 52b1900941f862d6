"""`deployscan scan`: parse options, call the core once, map the exit code.

Build variables (IMAGE_REF, IMAGE_DIGEST, …) are option defaults, so the buildspec can run just
`deployscan scan -- "$IMAGE_REF"`. Runner settings come from `Settings.from_env`, read once here.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from dispatcher import buildvars as bv
from dispatcher.errors import DeployscanError
from dispatcher.exitcodes import ExitCode
from dispatcher.imageref import ImageRef
from dispatcher.tiers import scan_seconds
from scanner_runner.cli.lists import user_list
from scanner_runner.cli.scantarget import code_options, code_request
from scanner_runner.denylist import default_entries, parse_deny_list
from scanner_runner.errors import OutputDirError, SettingsError
from scanner_runner.job import Runtime, ScanJob
from scanner_runner.lambdazip.unpack import LAMBDA_UNZIPPED_LIMIT
from scanner_runner.policy import FAIL_ON_CHOICES, Policy, parse_ignore_list
from scanner_runner.publish import Targets
from scanner_runner.report import TriggerInfo
from scanner_runner.scan import run_scan
from scanner_runner.scanmetrics import scan_lines
from scanner_runner.scanners import SCANNERS, default_scanner_name
from scanner_runner.scanners.interface import ScannerOptions
from scanner_runner.settings import Settings
from scanner_runner.signals import interruptible

# Option name -> the build variable it reads (and whose grammar its value must pass).
_VARIABLES: dict[str, bv.BuildVar] = {
    "image": bv.IMAGE_REF,
    "digest": bv.IMAGE_DIGEST,
    "platform": bv.IMAGE_PLATFORM,
    "account": bv.SOURCE_ACCOUNT,
    "region": bv.SOURCE_REGION,
    "trigger": bv.TRIGGER,
    "resource_arn": bv.RESOURCE_ARN,
    "event_id": bv.EVENT_ID,
    "registry_credentials_arn": bv.REGISTRY_CREDENTIALS_ARN,
    "pull_role_arn": bv.PULL_ROLE_ARN,
    "compute_tier": bv.COMPUTE_TIER,
}
_BUILD_ID_RE = re.compile(r"^[!-~]{1,256}$")
_HOST_RE = re.compile(r"^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$")


def _usage(message: str) -> None:
    click.echo(f"deployscan scan: error: {message}", err=True)
    sys.exit(ExitCode.USAGE)


@click.command("scan")
@click.argument("image", required=False, envvar=bv.IMAGE_REF.name)
@click.option(
    "--archive", type=click.Path(dir_okay=False, path_type=Path), help="Scan this archive."
)
@click.option(
    "--scanner",
    type=click.Choice(sorted(SCANNERS)),
    envvar="SCANNER",
    show_envvar=True,
    default=None,
)
@click.option("--qscanner-path", help="QScanner binary (else $QSCANNER_PATH, else PATH).")
@click.option("--pod", help="Qualys pod, e.g. US1 (else $QUALYS_POD).")
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default="scan-results",
    show_default=True,
)
@click.option("--s3-bucket", help="Results bucket (else $RESULTS_S3_BUCKET).")
@click.option("--no-publish", is_flag=True, help="Write local files only.")
@click.option(
    "--fail-on", type=click.Choice(FAIL_ON_CHOICES), help="Lowest failing severity (default high)."
)
@click.option("--max-critical", type=click.IntRange(min=0), help="Allow up to N critical findings.")
@click.option("--max-high", type=click.IntRange(min=0), help="Allow up to N high findings.")
@click.option("--max-medium", type=click.IntRange(min=0), help="Allow up to N medium findings.")
@click.option("--policy-tags", help="QScanner policy tags (switches to evaluate-policy).")
@click.option(
    "--ignore-list", help="Ignore list: a JSON file or s3://bucket/key (else $POLICY_IGNORE)."
)
@click.option("--deny-list", help="More denied packages: a JSON file or s3://… (else $DENY_LIST).")
@click.option("--sbom", is_flag=True, help="Ask QScanner for a CycloneDX SBOM too.")
@click.option(
    "--scan-timeout", type=click.IntRange(min=1), help="Seconds (else $SCAN_TIMEOUT, 300)."
)
@click.option(
    "--digest",
    envvar=bv.IMAGE_DIGEST.name,
    show_envvar=True,
    default="",
    help="The digest to scan (refused when the image is another).",
)
@click.option(
    "--platform",
    envvar=bv.IMAGE_PLATFORM.name,
    show_envvar=True,
    default="",
    help="os/arch[/variant] to scan.",
)
@click.option("--account", envvar=bv.SOURCE_ACCOUNT.name, show_envvar=True, default="")
@click.option("--region", envvar=bv.SOURCE_REGION.name, show_envvar=True, default="")
@click.option(
    "--trigger", envvar=bv.TRIGGER.name, show_envvar=True, default="manual", show_default=True
)
@click.option("--resource-arn", envvar=bv.RESOURCE_ARN.name, show_envvar=True, default="")
@click.option("--event-id", envvar=bv.EVENT_ID.name, show_envvar=True, default="")
@click.option("--build-id", envvar="CODEBUILD_BUILD_ID", show_envvar=True, default="")
@click.option(
    "--registry-credentials-arn",
    envvar=bv.REGISTRY_CREDENTIALS_ARN.name,
    show_envvar=True,
    default="",
)
@click.option("--pull-role-arn", envvar=bv.PULL_ROLE_ARN.name, show_envvar=True, default="")
@click.option("--compute-tier", envvar=bv.COMPUTE_TIER.name, show_envvar=True, default="")
@click.option("--insecure-registry", "insecure", multiple=True, help="Host allowed plain HTTP.")
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path), hidden=True)
@code_options
def scan(**options: Any) -> None:
    """Pull IMAGE (or take --archive, or fetch a zip --lambda / --layer), scan it, apply the
    policy, write and publish reports.

    Exit codes: 0 passed, 1 policy failed, 2 usage (also: --output-dir holds files deployscan
    did not write), 3 could not scan (fail closed; also: another scan holds --output-dir, or
    SIGTERM/SIGINT stopped it: the scanner is killed and what the run wrote is removed).
    """
    with interruptible("scan"):
        _scan(options)


def _scan(options: dict[str, Any]) -> None:
    env = os.environ
    try:
        settings = Settings.from_env(env)
        job, runtime, cannot_start = _prepare(options, settings, env)
    except DeployscanError as exc:
        _usage(str(exc))
        return
    try:
        outcome = run_scan(job, runtime, cannot_start=cannot_start)
    except OutputDirError as exc:
        click.echo(f"deployscan scan: error: {exc}", err=True)
        sys.exit(ExitCode.USAGE if exc.usage else ExitCode.ERROR)
    except OSError as exc:  # the reports themselves could not be written: still "could not scan"
        click.echo(f"deployscan scan: error: cannot write reports: {exc.strerror or exc}", err=True)
        sys.exit(ExitCode.ERROR)
    if settings.metrics:  # EMF: each line alone, so CloudWatch Logs reads it as metrics
        for line in scan_lines(outcome.report, verdict=outcome.verdict, clock=runtime.clock):
            click.echo(line)
    # The message comes last: the buildspec's failure reason is the log's last lines.
    click.echo(outcome.message, err=outcome.exit_code != 0)
    click.echo(f"reports: {job.output_dir}", err=outcome.exit_code != 0)
    sys.exit(outcome.exit_code)


def _prepare(options: dict[str, Any], settings: Settings, env: Any) -> tuple[ScanJob, Runtime, str]:
    """The job and its runtime, plus why the scan cannot start ("" when it can). A bad value is
    a SettingsError (usage); a source that cannot be read is a runtime failure."""
    image, archive = options["image"] or "", options["archive"]
    code = code_request(options, min(settings.max_unpacked_bytes, LAMBDA_UNZIPPED_LIMIT))
    if not image and not archive and code is None:
        raise SettingsError("give an IMAGE (or IMAGE_REF), --archive PATH, --lambda or --layer")
    for option, variable in _VARIABLES.items():
        if options.get(option):
            variable.validate(options[option])
    if options["build_id"] and not _BUILD_ID_RE.match(options["build_id"]):
        raise SettingsError("CODEBUILD_BUILD_ID has unexpected characters")
    ref = ImageRef.parse(image) if image else None
    insecure = [*options["insecure"], *env.get("INSECURE_REGISTRIES", "").split(",")]
    insecure = [h.strip() for h in insecure if h.strip()]
    if any(not _HOST_RE.match(h) for h in insecure):
        raise SettingsError("INSECURE_REGISTRIES must be host[:port] names, comma-separated")

    base = ScannerOptions(
        qscanner_path=options["qscanner_path"] or settings.qscanner_path,
        pod=options["pod"] or settings.qualys_pod,
        gateway_url=settings.qualys_gateway_url,
        credentials=settings.credentials,
        scan_types=settings.scan_types,
        sbom=options["sbom"],
        base_env=dict(env),
    )
    scanner = options["scanner"] or settings.scanner or default_scanner_name(base)
    if scanner not in SCANNERS:
        raise SettingsError(f"SCANNER must be one of {', '.join(SCANNERS)}")
    # The secret's registry login is for registries outside AWS (ECR authenticates through IAM,
    # ECS's repositoryCredentials through REGISTRY_CREDENTIALS_ARN).
    wants_registry_login = bool(
        ref
        and ref.ecr is None
        and not ref.is_ecr_public
        and not options["registry_credentials_arn"]
    )
    if settings.qualys_secret_arn and (scanner == "qscanner" or wants_registry_login):
        settings = _with_qualys_secret(settings, wants_registry_login=wants_registry_login)
        base = replace(base, credentials=settings.credentials, pod=base.pod or settings.qualys_pod)

    ignore_source = options["ignore_list"] or settings.policy_ignore
    ignores, cannot_start = user_list(ignore_source, "ignore list", parse_ignore_list)
    deny_source = options["deny_list"] or settings.deny_list
    denies, cannot_deny = user_list(deny_source, "deny list", parse_deny_list)
    cannot_start = cannot_start or cannot_deny
    tags = options["policy_tags"]
    policy = Policy(
        fail_on=options["fail_on"] or settings.fail_on,
        max_critical=options["max_critical"],
        max_high=options["max_high"],
        max_medium=options["max_medium"],
        ignores=ignores,
        deny=default_entries() + denies,
        tags=tuple(t.strip() for t in tags.split(",") if t.strip())
        if tags
        else settings.policy_tags,
    )
    creds = ""
    if wants_registry_login and settings.registry_username and settings.registry_password:
        creds = f"{settings.registry_username}:{settings.registry_password}"
    job = ScanJob(
        output_dir=options["output_dir"],
        image=ref,
        archive=archive,
        digest=options["digest"],
        platform=options["platform"],
        trigger=TriggerInfo(
            source=options["trigger"],
            account=options["account"],
            region=options["region"],
            resource_arn=options["resource_arn"],
            event_id=options["event_id"],
            compute_tier=options["compute_tier"],
        ),
        build_id=options["build_id"],
        scanner=scanner,
        policy=policy,
        timeout=scan_seconds(
            options["compute_tier"], float(options["scan_timeout"] or settings.scan_timeout)
        ),
        creds=creds,
        registry_credentials_arn=options["registry_credentials_arn"],
        pull_role_arn=options["pull_role_arn"],
        insecure_registries=tuple(insecure),
        docker_config=Path(env.get("DOCKER_CONFIG") or Path.home() / ".docker") / "config.json",
        work_dir=options["work_dir"],
        max_unpacked_bytes=settings.max_unpacked_bytes,
        code=code,
    )
    publish = not options["no_publish"]
    targets = Targets(
        bucket=(options["s3_bucket"] or settings.results_bucket) if publish else "",
        prefix=settings.results_prefix,
        kms_key_id=settings.results_kms_key_id,
        table=settings.scan_cache_table if publish else "",
        ttl_hours=settings.cache_ttl_hours,
        topic_arn=settings.sns_topic_arn if publish else "",
        security_hub=settings.security_hub and publish,
        event_bus=settings.event_bus if publish else "",
    )
    return job, Runtime(options=base, targets=targets, secrets=settings.secrets()), cannot_start


def _with_qualys_secret(settings: Settings, *, wants_registry_login: bool) -> Settings:
    """Read QUALYS_SECRET_ARN for what the environment lacks: Qualys credentials and pod, or
    (for a registry outside AWS) the optional registry_username/registry_password keys."""
    have_qualys = settings.credentials.present and settings.qualys_pod
    have_login = settings.registry_username and settings.registry_password
    if have_qualys and (have_login or not wants_registry_login):
        return settings
    import boto3  # noqa: PLC0415 (only when the secret is needed)
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    try:
        client = boto3.client("secretsmanager")
        answer = client.get_secret_value(SecretId=settings.qualys_secret_arn)
    except (BotoCoreError, ClientError) as exc:
        click.echo(f"deployscan scan: warning: cannot read QUALYS_SECRET_ARN: {exc}", err=True)
        return settings
    return settings.with_secret(str(answer.get("SecretString", "")))
