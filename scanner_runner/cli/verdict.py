"""`deployscan verdict IMAGE... [--lambda ARN[:QUALIFIER]]`: the deploy gate's answer for a
pipeline, from the scan cache (a zip function by its code hash and its layers').

Exit 0 allow, 1 deny, 3 pending/unknown/error after the wait, 2 bad input.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import NoReturn

import boto3
import click

from dispatcher.buildvars import KIND_LAMBDA_ZIP, LAMBDA_ARN_RE
from dispatcher.errors import DeployscanError, ImageRefError, SettingsError
from dispatcher.exitcodes import ExitCode
from dispatcher.gate.breakglass import load_breakglass
from dispatcher.gate.code import GateCode, code_verdicts, layer_codes
from dispatcher.gate.core import Destination, Starter, evaluate
from dispatcher.gate.settings import GateSettings
from dispatcher.gate.verdict import GateVerdict
from dispatcher.imageref import ImageRef
from dispatcher.lambdacode import function_code
from dispatcher.launch import CodeBuildLauncher
from dispatcher.resolve_aws import AwsResolver
from dispatcher.scancache.gatereads import GateCacheTable
from dispatcher.settings import Settings

Ask = Callable[[bool], list[GateVerdict]]


def poll(
    ask: Ask,
    wait_seconds: float,
    *,
    interval: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> list[GateVerdict]:
    """Ask until every verdict is allow/deny or `wait_seconds` passed; `ask(True)` the first
    time only, so a missing scan is started once."""
    deadline = clock() + wait_seconds
    answers = ask(True)
    while not all(v.final for v in answers) and clock() < deadline:
        sleep(max(0.0, min(interval, deadline - clock())))
        answers = ask(False)
    return answers


def exit_code(answers: Sequence[GateVerdict]) -> ExitCode:
    """1 when any image is denied, else 3 when any is not allowed, else 0."""
    if any(v.outcome == "deny" for v in answers):
        return ExitCode.FAILED
    return ExitCode.OK if all(v.outcome == "allow" for v in answers) else ExitCode.ERROR


@click.command("verdict")
@click.argument("images", nargs=-1)
@click.option("--lambda", "function", help="A zip function ARN[:QUALIFIER] to check by code hash.")
@click.option(
    "--wait", "wait_minutes", default=0, type=click.IntRange(0, 1440), help="Minutes to wait."
)
@click.option("--start", is_flag=True, help="Start a scan for an image never scanned.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per image.")
@click.option("--account", help="The account the images are deployed to.")
@click.option("--resource", help="The ARN of the service or function being deployed.")
@click.option("--region", envvar="AWS_REGION", help="AWS region of the scan cache.")
@click.option("--interval", default=15.0, hidden=True, type=click.FloatRange(0.0, 300.0))
def verdict(
    *,
    images: tuple[str, ...],
    function: str | None,
    wait_minutes: int,
    start: bool,
    as_json: bool,
    account: str | None,
    resource: str | None,
    region: str | None,
    interval: float,
) -> None:
    """Answer allow, deny, pending or unknown for each IMAGE (and with --lambda a zip function's
    code and layers) from the scan cache.

    Exit codes: 0 allow, 1 deny, 3 pending/unknown/error after --wait, 2 bad input.
    """
    try:
        refs = [ImageRef.parse(text) for text in images]
        if not refs and not function:
            raise SettingsError("name at least one IMAGE or --lambda ARN")
        if function and not LAMBDA_ARN_RE.match(function):
            raise SettingsError(f"--lambda is not a Lambda function ARN: {function[:200]!r}")
        gate = GateSettings.from_env(os.environ)
        # The scan project is needed only to start scans; the cache always.
        settings = Settings.from_env(os.environ, require_execution=start)
        if not settings.cache_table:
            raise SettingsError("SCAN_CACHE_TABLE must be set")
    except (ImageRefError, SettingsError) as exc:
        _fail(str(exc), ExitCode.USAGE)
    session = boto3.session.Session(region_name=region)
    try:
        breakglass = (
            load_breakglass(
                gate.breakglass_source, s3=session.client("s3"), ssm=session.client("ssm")
            )
            if gate.breakglass_source
            else ()
        )
    except SettingsError as exc:
        _fail(str(exc), ExitCode.ERROR)
    cache = GateCacheTable(session.client("dynamodb"), settings.cache_table)
    starter = None
    if start:
        starter = Starter(settings, CodeBuildLauncher(session.client("codebuild")))
    where = Destination(account, session.region_name, resource or function)
    since = time.time()  # a scan that errored before this is scanned again (with --start)
    try:
        codes, refused = (
            _zip_codes(session.client("lambda"), function, gate) if function else ([], [])
        )
    except SettingsError as exc:
        _fail(str(exc), ExitCode.USAGE)
    except DeployscanError as exc:
        _fail(str(exc), ExitCode.ERROR)
    # another account's code is fetched by the build through the read-only role
    role_for = AwsResolver(session, settings.cross_account_role_name).code_role_arn

    def ask(first: bool) -> list[GateVerdict]:
        zipped = code_verdicts(codes, gate, cache, time.time, destination=where, since=since,
                               starter=starter if first else None,
                               role_for=role_for) if codes else []  # fmt: skip
        return (
            refused
            + zipped
            + evaluate(
                refs,
                gate,
                cache,
                time.time,
                breakglass=breakglass,
                starter=starter if first else None,
                destination=where,
                since=since,
            )
        )

    try:
        answers = poll(ask, wait_minutes * 60.0, interval=interval)
    except DeployscanError as exc:
        _fail(str(exc), ExitCode.ERROR)
    for answer in answers:
        if as_json:
            click.echo(json.dumps(answer.as_dict(), sort_keys=True))
        else:
            click.echo(f"{answer.outcome}\t{answer.image}\t{answer.reason}")
    sys.exit(exit_code(answers))


def _zip_codes(
    client: object, function: str, gate: GateSettings
) -> tuple[list[GateCode], list[GateVerdict]]:
    """The function's code hash (GetFunction) and its layers' (GetLayerVersionByArn)."""
    found = function_code(client, function)
    if found.code is None:
        raise SettingsError(f"{function[:200]} is a {found.package_type} function: name its image")
    codes, refused = layer_codes(client, found.layers, gate)
    return [GateCode(KIND_LAMBDA_ZIP, found.code.arn, found.code.code_sha256), *codes], refused


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"deployscan verdict: {message}", err=True)
    sys.exit(code)
