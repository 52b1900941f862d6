"""`deployscan pull`: a thin edge over `scanner_runner.registry.pull` (exit 0, or 3 on failure)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from dispatcher.buildvars import IMAGE_PLATFORM, PULL_ROLE_ARN, REGISTRY_CREDENTIALS_ARN
from dispatcher.exitcodes import ExitCode
from scanner_runner.errors import PullError
from scanner_runner.registry import DEFAULT_PLATFORM, FORMATS
from scanner_runner.registry import pull as pull_image
from scanner_runner.signals import interruptible

CREDS_ENV = "REGISTRY_CREDS"
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


class ByteSize(click.ParamType):
    """`500M`, `2G`, `1048576` -> bytes."""

    name = "size"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        """Parse a byte count with an optional K/M/G/T suffix."""
        text = str(value).strip().upper().removesuffix("B").removesuffix("I")
        number, unit = (text[:-1], text[-1]) if text[-1:] in _UNITS else (text, "")
        if not number.isdigit():
            self.fail(f"{value!r} is not a size such as 500M or 2G", param, ctx)
        return int(number) * _UNITS[unit]


@click.command()
@click.argument("image")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Archive to write (replaced atomically).",
)
@click.option("--platform", help="os/arch[/variant]; default $IMAGE_PLATFORM or linux/amd64.")
@click.option(
    "--format", "fmt", type=click.Choice(sorted(FORMATS)), default="oci-archive", show_default=True
)
@click.option(
    "--creds",
    metavar="USER:PASS|-",
    envvar=CREDS_ENV,
    show_envvar=True,
    help=(
        "Registry credentials. Keep them out of argv: set $REGISTRY_CREDS or pass `--creds -` "
        "to read USER:PASS from stdin (or use docker login)."
    ),
)
@click.option(
    "--insecure-registry",
    "insecure",
    multiple=True,
    metavar="HOST",
    help="Allow plain HTTP to HOST (repeatable; also $INSECURE_REGISTRIES).",
)
@click.option("--max-size", type=ByteSize(), help="Refuse images larger than this (e.g. 2G).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def pull(**options: Any) -> None:
    """Pull IMAGE over the registry API into an archive, verifying every digest.

    Exit codes: 0 pulled; 3 the pull failed or SIGTERM/SIGINT stopped it (no partial file left).
    """
    with interruptible("pull"):
        _pull(**options)


def _pull(
    *,
    image: str,
    output: Path,
    platform: str | None,
    fmt: str,
    creds: str | None,
    insecure: tuple[str, ...],
    max_size: int | None,
    as_json: bool,
) -> None:
    env = os.environ
    insecure_hosts = [*insecure, *env.get("INSECURE_REGISTRIES", "").split(",")]
    docker_dir = env.get("DOCKER_CONFIG") or str(Path.home() / ".docker")
    source = click.get_current_context().get_parameter_source("creds")
    if creds and creds != "-" and source == click.core.ParameterSource.COMMANDLINE:
        click.echo(
            f"deployscan pull: warning: --creds USER:PASS is visible to other processes; "
            f"prefer ${CREDS_ENV} or --creds - (stdin)",
            err=True,
        )
    try:
        if creds == "-":
            creds = _creds_from_stdin()
        result = pull_image(
            image,
            output,
            platform=platform or env.get(IMAGE_PLATFORM.name) or DEFAULT_PLATFORM,
            fmt=fmt,
            creds=creds,
            registry_credentials_arn=env.get(REGISTRY_CREDENTIALS_ARN.name) or None,
            pull_role_arn=env.get(PULL_ROLE_ARN.name) or None,
            insecure_registries=[h.strip() for h in insecure_hosts if h.strip()],
            max_size=max_size,
            progress=sys.stderr.isatty() and not (env.get("CI") or env.get("CODEBUILD_BUILD_ID")),
            docker_config=Path(docker_dir) / "config.json",
        )
    except PullError as exc:
        click.echo(f"deployscan pull: {exc}", err=True)
        sys.exit(ExitCode.ERROR)
    if as_json:
        click.echo(json.dumps(result.as_json(), sort_keys=True))
    else:
        click.echo(
            f"pulled {result.ref.name}@{result.manifest_digest} ({result.platform}, "
            f"{result.layer_count} layers, {result.total_bytes} bytes) -> {result.archive}"
        )


def _creds_from_stdin() -> str:
    """`--creds -`: the first line of stdin is USER:PASS (never echoed, never in argv)."""
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise PullError("--creds -: expected USER:PASS on stdin, read nothing")
    return line
