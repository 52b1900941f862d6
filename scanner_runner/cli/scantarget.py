"""`deployscan scan`'s zip Lambda options (`--lambda`, `--layer`) and what they ask for.

Their defaults are the build variables LAMBDA_ARN, LAYER_ARN and CODE_SHA256; TARGET_KIND, when
set, must agree with the one target given. Every value passes its build variable's grammar here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from dispatcher import buildvars as bv
from scanner_runner.errors import SettingsError
from scanner_runner.lambdazip import CodeRequest


def code_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the zip Lambda options to a click command."""
    options = [
        click.option(
            "--lambda",
            "lambda_arn",
            envvar=bv.LAMBDA_ARN.name,
            show_envvar=True,
            default="",
            help="Scan this zip function (ARN[:version or alias]) with its layers.",
        ),
        click.option(
            "--layer",
            "layer_arn",
            envvar=bv.LAYER_ARN.name,
            show_envvar=True,
            default="",
            help="Scan this layer version (ARN …:layer:NAME:N).",
        ),
        click.option(
            "--code-sha256",
            envvar=bv.CODE_SHA256.name,
            show_envvar=True,
            default="",
            help="The CodeSha256 the code must have (else: whatever is deployed now).",
        ),
        click.option("--target-kind", envvar=bv.TARGET_KIND.name, default="", hidden=True),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def code_request(options: dict[str, Any], max_bytes: int) -> CodeRequest | None:
    """The zip code the options ask for (None: an image or archive); SettingsError when the
    targets contradict one another or a value breaks its grammar."""
    arns = {bv.KIND_LAMBDA_ZIP: options["lambda_arn"], bv.KIND_LAMBDA_LAYER: options["layer_arn"]}
    given = [kind for kind, arn in arns.items() if arn]
    kind = options["target_kind"]
    if kind:
        bv.TARGET_KIND.validate(kind)
    others = bool(options["image"] or options["archive"])
    if len(given) > 1 or (given and others):
        raise SettingsError("give one target: IMAGE, --archive, --lambda or --layer")
    if kind and kind != bv.KIND_IMAGE and kind not in given:
        raise SettingsError(f"{bv.TARGET_KIND.name} is {kind} but its ARN is not set")
    if not given:
        if options["code_sha256"]:
            raise SettingsError("--code-sha256 needs --lambda or --layer")
        return None
    variable = bv.LAMBDA_ARN if given[0] == bv.KIND_LAMBDA_ZIP else bv.LAYER_ARN
    arn = variable.validate(arns[given[0]])
    sha = bv.CODE_SHA256.validate(options["code_sha256"]) if options["code_sha256"] else ""
    role = options["pull_role_arn"] or ""
    return CodeRequest(given[0], arn, sha, role, max_bytes)
