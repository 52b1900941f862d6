"""The runner's errors, under the project's one root (`DeployscanError`)."""

from __future__ import annotations

from dispatcher.errors import DeployscanError, ImageRefError

__all__ = [
    "DeployscanError",
    "ImageRefError",
    "PublishError",
    "PullError",
    "ReportError",
    "ScannerError",
]


class PullError(DeployscanError):
    """The image could not be pulled or failed verification (`deployscan pull` exits 3)."""


class ScannerError(DeployscanError):
    """The scanner failed: missing binary, error exit, timeout, or unusable output."""

    def __init__(self, message: str, *, exit_code: int | None = None, stderr: str = "") -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.stderr = stderr


class ReportError(DeployscanError):
    """A saved report could not be read or rendered."""


class PublishError(DeployscanError):
    """Reports could not be published (S3, DynamoDB, SNS) after a good scan."""
