"""User-supplied policy lists (ignore list, deny list): a local JSON file or an S3 object."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from dispatcher.errors import aws_error_text
from scanner_runner.errors import PolicyError, SourceError

T = TypeVar("T")


def user_list(
    source: str, what: str, parse: Callable[[str, str], tuple[T, ...]]
) -> tuple[tuple[T, ...], str]:
    """The parsed list (ignore or deny), or why it could not be read (bad content: PolicyError)."""
    if not source:
        return (), ""
    try:
        text = _read_source(source, what)
    except OSError as exc:
        return (), f"cannot read {what} {source}: {exc.strerror or exc}"
    except SourceError as exc:
        return (), str(exc)
    return parse(text, source), ""


def _read_source(source: str, what: str) -> str:
    """A list's text, from a local file or an `s3://bucket/key` object."""
    if source.startswith("s3://"):
        import boto3  # noqa: PLC0415
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        bucket, _, key = source.removeprefix("s3://").partition("/")
        try:
            body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        except (BotoCoreError, ClientError) as exc:
            raise SourceError(f"cannot read {what} {source}: {aws_error_text(exc)}") from exc
    else:
        body = Path(source).read_bytes()
    try:
        return str(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{what} {source} is not UTF-8 text") from exc
