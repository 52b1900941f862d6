"""`deployscan sweep`: what runs now, per account-region -> one JSON line per running image.

A thin edge: read the settings, build the clients, call `dispatcher.sweep.run.run_sweep`, print
the contract's lines, write the posture page, map the outcome to an exit code.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import replace
from typing import Any, NoReturn

import boto3
import click

from dispatcher.buildvars import ACCOUNT_RE, REGION_RE
from dispatcher.errors import DeployscanError, aws_error_text
from dispatcher.exitcodes import ExitCode
from dispatcher.launch import CodeBuildLauncher
from dispatcher.resolve_aws import AwsResolver
from dispatcher.scancache import ScanCacheTable
from dispatcher.settings import Settings
from dispatcher.sweep import posture
from dispatcher.sweep.core import AwsUnitClients
from dispatcher.sweep.run import run_sweep
from dispatcher.sweep.status import read_rows
from dispatcher.sweep.units import scope


@click.command(
    "sweep",
    help=(
        "List what runs now (running ECS tasks, Lambda image functions, zip functions and the "
        "layers they use) in the home account and the SWEEP_ACCOUNTS members, in SWEEP_REGIONS "
        "(else the current region), and print one JSON line per running image or zip code: "
        "build (never scanned, last scan an error, or older than RESCAN_AFTER_HOURS) or skip, "
        "with where it runs. Without --dry-run it records the "
        "in-use index in SCAN_CACHE_TABLE, starts the scans of SCAN_PROJECT_NAME and, with "
        "REPORT_BUCKET, rewrites the posture page.\n\n"
        "Exit 0 when done; 1 when an account-region (or a scan it asked for) would be retried; "
        "2 for a bad option or missing settings."
    ),
)
@click.option("--dry-run", is_flag=True, help="List and decide, but record and start nothing.")
@click.option("--account", "accounts", multiple=True, metavar="A", help="Only this account.")
@click.option("--region", "regions", multiple=True, metavar="R", help="Only this region.")
def sweep(dry_run: bool, accounts: tuple[str, ...], regions: tuple[str, ...]) -> None:
    """Entry point of `deployscan sweep`."""
    check_scope("sweep", accounts, regions)
    try:
        settings = Settings.from_env(os.environ, require_execution=not dry_run)
    except DeployscanError as exc:
        fail("sweep", f"settings: {exc}")
    if not settings.cache_table:
        fail("sweep", "settings: SCAN_CACHE_TABLE must be set")
    session, home = aws_session("sweep")
    settings = replace(settings, region=settings.region or session.region_name)
    units = scope(settings, home, accounts=accounts, regions=regions)
    if not units:
        fail("sweep", "no region to sweep: set SWEEP_REGIONS, AWS_REGION or --region")
    role = settings.cross_account_role_name
    cache = ScanCacheTable(session.client("dynamodb"), settings.cache_table)
    result = run_sweep(
        units,
        settings,
        AwsUnitClients(session, role, home),
        cache,
        resolver=AwsResolver(session, role, home_account=home),
        launcher=None if dry_run else CodeBuildLauncher(session.client("codebuild")),
        dry_run=dry_run,
    )
    for line in result.lines:
        click.echo(json.dumps(line.to_dict(), ensure_ascii=True))
    if not dry_run and settings.sweep.report_bucket:
        _posture(session, cache, settings)
    sys.exit(ExitCode.RETRY if result.retry else ExitCode.OK)


def _posture(session: Any, cache: ScanCacheTable, settings: Settings) -> None:
    bucket, prefix, now = settings.sweep.report_bucket, settings.sweep.report_prefix, time.time()
    try:
        doc = posture.document(read_rows(cache, now), now, posture.s3_link(bucket, prefix))
        keys = posture.write_s3(session.client("s3"), bucket, prefix, doc)
    except DeployscanError as exc:
        click.echo(f"deployscan sweep: posture page not written: {exc}", err=True)
        sys.exit(ExitCode.RETRY)
    click.echo(f"deployscan sweep: posture page at s3://{bucket}/{keys[-1]}", err=True)


def check_scope(command: str, accounts: tuple[str, ...], regions: tuple[str, ...]) -> None:
    """Exit 2 on an --account or --region that cannot be one."""
    for account in accounts:
        if not ACCOUNT_RE.match(account):
            fail(command, f"--account {account[:40]!r} is not a 12-digit account id")
    for region in regions:
        if not REGION_RE.match(region):
            fail(command, f"--region {region[:40]!r} is not a region")


def aws_session(command: str) -> tuple[Any, str]:
    """The default boto3 session and its account; exit 2 when there are no usable credentials."""
    try:
        session = boto3.session.Session()
        account = session.client("sts").get_caller_identity()["Account"]
    except Exception as exc:  # botocore errors (no credentials, no network) at this edge
        fail(command, f"cannot reach AWS: {aws_error_text(exc)}")
    return session, str(account)


def fail(command: str, message: str) -> NoReturn:
    """One line on stderr, exit 2."""
    click.echo(f"deployscan {command}: {message}", err=True)
    sys.exit(ExitCode.USAGE)
