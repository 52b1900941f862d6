"""The project's one error tree: a root, one subclass per concern. The runner's errors subclass
these too (`scanner_runner/errors.py`). Library errors are wrapped once, with `raise … from`."""

from __future__ import annotations


class DeployscanError(Exception):
    """Root of every error deployscan raises on purpose; edges catch it once."""


class SettingsError(DeployscanError):
    """A setting (environment variable or option) is missing or malformed."""


class EventError(DeployscanError):
    """An event (or an envelope of events) could not be read or understood."""


class ImageRefError(DeployscanError):
    """A string is not an image reference deployscan will use."""


class PlatformError(DeployscanError):
    """A platform is not `os/arch[/variant]`."""


class BuildVariableError(DeployscanError):
    """A build variable's value breaks the contract; it is never sent to a build."""


class ResolveError(DeployscanError):
    """A lookup (task definition, function, ECR image) failed."""


class NeedsLookup(ResolveError):
    """The answer needs an AWS call and this resolver makes none."""


class LookupFailed(ResolveError):
    """AWS answered with an error. `retryable` is False only when the thing does not exist."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class LaunchError(DeployscanError):
    """A build could not be started; the event must be retried.

    `throttled` is True when AWS said "not now"; `capacity` when that was CodeBuild's build limit
    (the project's concurrent builds or the account's build queue), which waits, not fails.
    """

    def __init__(self, message: str, *, throttled: bool = False, capacity: bool = False) -> None:
        super().__init__(message)
        self.throttled = throttled or capacity
        self.capacity = capacity


class BuildRequestError(LaunchError, BuildVariableError):
    """A BuildRequest holds a value that must not be sent; the image is skipped, not retried."""

    def __init__(self, message: str) -> None:
        super().__init__(message, throttled=False)


class CacheError(DeployscanError):
    """The scan-cache table could not be read or written."""


class QueueError(DeployscanError):
    """An SQS call that settles a message (delay it, dead-letter it) failed."""


def aws_error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore `ClientError`, else the exception's type name."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error")
        code = error.get("Code") if isinstance(error, dict) else None
        if isinstance(code, str) and code:
            return code
    return type(exc).__name__


def aws_error_text(exc: BaseException) -> str:
    """`Code: Message` of a botocore `ClientError` (else the exception's first line).

    A wrapper without a response (boto3's S3UploadFailedError) shows the ClientError it wraps.
    """
    wrapped = exc.__context__
    if not isinstance(getattr(exc, "response", None), dict) and wrapped is not None:
        exc = wrapped if isinstance(getattr(wrapped, "response", None), dict) else exc
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and isinstance(response.get("Error"), dict):
        message = response["Error"].get("Message")
        message = message if isinstance(message, str) else ""
        return f"{aws_error_code(exc)}: {message}".strip().rstrip(":")
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
