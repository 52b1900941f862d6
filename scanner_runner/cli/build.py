"""`deployscan start-build IMAGE`: start (and optionally follow) one scan build in CodeBuild."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from typing import NoReturn

import boto3
import click

from dispatcher.buildvars import COMPUTE_TIERS, KIND_LAMBDA_LAYER, KIND_LAMBDA_ZIP
from dispatcher.errors import (
    BuildRequestError,
    BuildVariableError,
    DeployscanError,
    ImageRefError,
    LaunchError,
    SettingsError,
)
from dispatcher.exitcodes import ExitCode
from dispatcher.imageref import ImageRef
from dispatcher.launch import CodeBuildLauncher
from dispatcher.resolve_aws import AwsResolver
from dispatcher.scancache import ScanCacheTable
from dispatcher.settings import Settings
from scanner_runner.buildwatch import BuildWatcher, console_url
from scanner_runner.startbuild import cached_message, plan_code_build, plan_manual_build, start

DEFAULT_PROJECT = "deployscan-scan"


@click.command("start-build")
@click.argument("image", required=False, default="")
@click.option("--lambda", "lambda_arn", help="Scan this zip function (ARN[:version or alias]).")
@click.option("--layer", "layer_arn", help="Scan this layer version (…:layer:NAME:N).")
@click.option(
    "--project",
    envvar="SCAN_PROJECT_NAME",
    default=DEFAULT_PROJECT,
    show_default=True,
    help="CodeBuild scan project (env SCAN_PROJECT_NAME).",
)
@click.option(
    "--lambda-project",
    envvar="LAMBDA_PROJECT_NAME",
    default="",
    help="The Lambda-compute scan project (env LAMBDA_PROJECT_NAME); unset: EC2 only.",
)
@click.option(
    "--tier",
    type=click.Choice(COMPUTE_TIERS),
    help="Run on this compute tier (e.g. ec2 after a Lambda timeout); default: as the dispatcher.",
)
@click.option("--platform", help="Platform to scan in a multi-platform image, e.g. linux/arm64.")
@click.option("--force", is_flag=True, help="Scan even if the scan cache says it was just scanned.")
@click.option("--wait", is_flag=True, help="Follow the build and exit with the scan's verdict.")
@click.option(
    "--cache-table",
    envvar="SCAN_CACHE_TABLE",
    help="DynamoDB scan-cache table to consult (env SCAN_CACHE_TABLE); skipped when unset.",
)
@click.option("--region", envvar="AWS_REGION", help="AWS region of the scan project.")
@click.option(
    "--timeout",
    default=60,
    show_default=True,
    type=click.IntRange(1, 2160),
    help="Minutes to wait.",
)
@click.option("--interval", default=5.0, hidden=True, type=click.FloatRange(0.0, 60.0))
def start_build(
    *,
    image: str,
    lambda_arn: str | None,
    layer_arn: str | None,
    project: str,
    lambda_project: str,
    tier: str | None,
    platform: str | None,
    force: bool,
    wait: bool,
    cache_table: str | None,
    region: str | None,
    timeout: int,
    interval: float,
) -> None:
    """Start a scan build for IMAGE (or a zip --lambda / --layer) with the variables the
    dispatcher would set.

    Exit codes without --wait: 0 started (or already scanned), 2 bad input, 3 could not start.
    With --wait, as `deployscan scan`: 0 passed, 1 policy failed, 3 error.
    """
    if len([t for t in (image, lambda_arn, layer_arn) if t]) != 1:
        _fail("give one of IMAGE, --lambda ARN or --layer ARN", ExitCode.USAGE)
    try:
        ref = ImageRef.parse(image) if image else None
    except ImageRefError as exc:
        _fail(str(exc), ExitCode.USAGE)
    session = boto3.session.Session(region_name=region)
    resolver = AwsResolver(session, os.environ.get("CROSS_ACCOUNT_ROLE_NAME") or None)
    try:
        tiers = replace(
            Settings.from_env(os.environ, require_execution=False).tiers,
            ec2_project=project,
            lambda_project=lambda_project,
            region=session.region_name,
        )
        cache = ScanCacheTable(session.client("dynamodb"), cache_table) if cache_table else None
        code = (KIND_LAMBDA_ZIP, lambda_arn) if lambda_arn else (KIND_LAMBDA_LAYER, layer_arn or "")
        plan = (
            plan_code_build(
                *code,
                project=project,
                resolver=resolver,
                cache=cache,
                force=force,
                tiers=tiers,
                tier=tier,
            )
            if ref is None
            else plan_manual_build(
                ref,
                project=project,
                platform=platform,
                resolver=resolver,
                cache=cache,
                force=force,
                region=session.region_name,
                tiers=tiers,
                tier=tier,
            )
        )
    except (BuildVariableError, BuildRequestError, SettingsError) as exc:
        _fail(str(exc), ExitCode.USAGE)
    except DeployscanError as exc:
        suffix = " (use --force to skip the scan-cache check)" if "scan cache" in str(exc) else ""
        _fail(f"{exc}{suffix}", ExitCode.ERROR)
    for note in plan.notes:
        click.echo(f"note: {note}", err=True)
    if plan.cached is not None:
        click.echo(f"{plan.request.subject}: {cached_message(plan.cached)}")
        return
    codebuild = session.client("codebuild")
    try:
        build_id = start(plan, CodeBuildLauncher(codebuild))
    except LaunchError as exc:
        _fail(str(exc), ExitCode.ERROR)
    digest = plan.request.code_sha256 or plan.request.digest or "digest resolved by the build"
    click.echo(f"started {build_id} for {plan.request.subject} ({digest})")
    if not wait:
        try:
            builds = codebuild.batch_get_builds(ids=[build_id]).get("builds") or [{}]
        except Exception:  # only for the link; the build has started either way
            builds = [{}]
        url = console_url(builds[0])
        if url:
            click.echo(f"follow it: {url}")
        return
    watcher = BuildWatcher(codebuild, session.client("logs"), out=click.echo, interval=interval)
    try:
        verdict = watcher.follow(build_id, timeout=timeout * 60.0)
    except DeployscanError as exc:
        _fail(str(exc), ExitCode.ERROR)
    for line in verdict.lines():
        click.echo(line)
    sys.exit(verdict.exit_code)


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"deployscan start-build: {message}", err=True)
    sys.exit(code)
