"""The one way deployscan assumes a role: a boto3 session with the role's temporary credentials."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dispatcher.errors import DeployscanError, LookupFailed, aws_error_code, aws_error_text


def partition(region: str) -> str:
    """The ARN partition of a region."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def aws_call(
    what: str,
    method: Callable[..., Any],
    *,
    not_found: frozenset[str] = frozenset(),
    **kwargs: Any,
) -> Any:
    """`method(**kwargs)`; a botocore error becomes `LookupFailed("<what> failed: <code>")`,
    retryable unless its code is in `not_found` (deployscan's own errors pass through)."""
    try:
        return method(**kwargs)
    except DeployscanError:
        raise
    except Exception as exc:  # botocore errors, wrapped once at this seam
        code = aws_error_code(exc)
        raise LookupFailed(f"{what} failed: {code}", retryable=code not in not_found) from exc


def own_account(context: Any) -> str | None:
    """A Lambda's own account, from its context's invoked function ARN."""
    arn = getattr(context, "invoked_function_arn", None)
    if isinstance(arn, str) and arn.count(":") >= 6:
        return arn.split(":")[4]
    return None


def role_arn(account: str, role_name: str, region: str | None) -> str:
    """The ARN of `role_name` in `account`, in the partition of `region`."""
    return f"arn:{partition(region or '')}:iam::{account}:role/{role_name}"


def assumed_session(
    session: Any,
    arn: str,
    *,
    session_name: str,
    region: str | None = None,
    factory: Callable[..., Any] | None = None,
) -> Any:
    """A session with `arn`'s credentials (sts:AssumeRole); `LookupFailed` when refused."""
    try:
        sts = session.client("sts", region_name=region) if region else session.client("sts")
        got = sts.assume_role(RoleArn=arn, RoleSessionName=session_name)["Credentials"]
    except Exception as exc:  # botocore errors, wrapped once at this seam
        raise LookupFailed(f"sts:AssumeRole {arn} failed: {aws_error_text(exc)}") from exc
    if factory is None:
        import boto3  # noqa: PLC0415 (the Lambda runtime has it; imported only when assuming)

        factory = boto3.session.Session
    kwargs = {"region_name": region} if region else {}
    return factory(
        aws_access_key_id=got["AccessKeyId"],
        aws_secret_access_key=got["SecretAccessKey"],
        aws_session_token=got["SessionToken"],
        **kwargs,
    )
