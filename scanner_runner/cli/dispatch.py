"""`deployscan dispatch`: deploy events in, one JSON decision line per image out.

A thin edge: read the files, build the clients the options ask for, call
`dispatcher.core.dispatch`, print the contract's lines, map the outcome to an exit code.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, NoReturn

import boto3
import click

from dispatcher.core import DispatchResult
from dispatcher.core import dispatch as run_dispatch
from dispatcher.dedup import Memo
from dispatcher.envelope import read_records
from dispatcher.errors import DeployscanError
from dispatcher.exitcodes import ExitCode
from dispatcher.launch import CodeBuildLauncher
from dispatcher.model import decision_line
from dispatcher.resolve import OfflineResolver, Resolver
from dispatcher.resolve_aws import AwsResolver
from dispatcher.scancache import ScanCacheTable
from dispatcher.settings import Settings


@click.command(
    "dispatch",
    help=(
        "Read EventBridge events (one object, a JSON array, or an SQS/Lambda batch) and print one "
        "JSON line per decision. Without --dry-run or --offline it leases each image in "
        "SCAN_CACHE_TABLE and starts a build of SCAN_PROJECT_NAME.\n\n"
        "Exit 0 when done; exit 1 (only when executing) when a record was left for retry, as SQS "
        "would retry it (throttled or failed launch, failed lookup, unreadable record); exit 2 "
        "for unreadable input (missing file, bad JSON, not an event) or missing settings."
    ),
)
@click.option(
    "--dry-run", is_flag=True, help="Plan and resolve, but write nothing and start nothing."
)
@click.option(
    "--offline", is_flag=True, help="No AWS call at all; lookups become needs-lookup skips."
)
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
def dispatch(dry_run: bool, offline: bool, files: tuple[str, ...]) -> None:
    """Entry point of `deployscan dispatch`."""
    inputs = [_read(path) for path in files]
    for path, raw in zip(files, inputs, strict=True):  # every file is an envelope before any work
        try:
            read_records(raw)
        except DeployscanError as exc:
            _fail(f"unreadable input {path}: {exc}")
    executing = not (dry_run or offline)
    try:
        settings = Settings.from_env(os.environ, require_execution=executing)
    except DeployscanError as exc:
        _fail(f"settings: {exc}")
    failed = False
    context = _Clients(settings, offline=offline, executing=executing)
    for raw in inputs:
        try:
            result = run_dispatch(
                raw, settings, context.resolver(), dry_run=not executing, **context.executors()
            )
        except DeployscanError as exc:
            _fail(f"unreadable input: {exc}")
        _print(result)
        failed = failed or any(r.failed for r in result.records)
    sys.exit(ExitCode.RETRY if executing and failed else ExitCode.OK)


class _Clients:
    """boto3 clients only when the options need them (never with --offline)."""

    def __init__(self, settings: Settings, *, offline: bool, executing: bool) -> None:
        self.settings, self.offline, self.executing = settings, offline, executing
        self.session: Any = None
        self.cache: Any = None
        self.launcher: Any = None
        if not offline:
            self.session = boto3.session.Session()
        if executing:
            self.cache = ScanCacheTable(self.session.client("dynamodb"), settings.cache_table)
            self.launcher = CodeBuildLauncher(self.session.client("codebuild"))
            self.memo = Memo()

    def resolver(self) -> Resolver:
        if self.offline:
            return OfflineResolver()
        return AwsResolver(self.session, self.settings.cross_account_role_name)

    def executors(self) -> dict[str, Any]:
        if not self.executing:
            return {}
        return {"cache": self.cache, "launcher": self.launcher, "memo": self.memo}


def _read(path: str) -> object:
    try:
        if path == "-":
            return json.load(sys.stdin)
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: absurd nesting
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        _fail(f"cannot read {path}: {reason}".replace("\n", " "))


def _print(result: DispatchResult) -> None:
    for outcome in result.outcomes:
        click.echo(json.dumps(decision_line(outcome), ensure_ascii=True))


def _fail(message: str) -> NoReturn:
    click.echo(f"deployscan dispatch: {message}", err=True)
    sys.exit(ExitCode.UNREADABLE)
