"""The project's one error tree. The runner's errors subclass these roots too."""


class DeployscanError(Exception):
    """Root of every error deployscan raises on purpose; edges catch it once."""


class EventError(DeployscanError):
    """An event (or an envelope of events) could not be read or understood."""


class ImageRefError(DeployscanError):
    """A string is not an image reference deployscan will use."""

    reason = "invalid-image-reference"


class ResolveError(DeployscanError):
    """A lookup (task definition, function, ECR image) failed."""


class LaunchError(DeployscanError):
    """A build could not be started; the event must be retried.

    `throttled` is True when AWS said "not now" (account build limit, API throttling).
    """

    def __init__(self, message: str, *, throttled: bool = False) -> None:
        super().__init__(message)
        self.throttled = throttled


def aws_error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore `ClientError`, else the exception's type name."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error")
        code = error.get("Code") if isinstance(error, dict) else None
        if isinstance(code, str):
            return code
    return type(exc).__name__
