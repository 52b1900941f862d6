"""The runner's errors, under the project's one root (`DeployscanError`)."""

from __future__ import annotations

from dispatcher.errors import CacheError, DeployscanError, ImageRefError, SettingsError

__all__ = [
    "CacheError",
    "DeployscanError",
    "ImageRefError",
    "OutputDirError",
    "PolicyError",
    "PublishError",
    "PullError",
    "ReportError",
    "ScannerError",
    "SettingsError",
    "SourceError",
    "WatchError",
]


class PullError(DeployscanError):
    """The image could not be pulled or failed verification (`deployscan pull` exits 3)."""


class ScannerError(DeployscanError):
    """The scanner failed: missing binary, error exit, timeout, or unusable output."""

    def __init__(self, message: str, *, exit_code: int | None = None, stderr: str = "") -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.stderr = stderr


class PublishError(DeployscanError):
    """Publishing could not start (e.g. no AWS region for its clients); the build exits 3."""


class ReportError(DeployscanError):
    """A saved report could not be read or rendered."""


class PolicyError(SettingsError):
    """The policy settings or the ignore list are invalid (a usage error, exit 2)."""


class OutputDirError(DeployscanError):
    """The output directory cannot be used; nothing in it was touched. `usage`: it holds files
    deployscan did not write (exit 2); else another scan holds it or it is not writable (exit 3)."""

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


class SourceError(DeployscanError):
    """An input the scan needs (the ignore list in S3) could not be read: error report, exit 3."""


class WatchError(DeployscanError):
    """A build could not be followed (unknown id, API errors, waited too long)."""
