"""Errors of the local build executor, under the project's one root."""

from __future__ import annotations

from dispatcher.errors import DeployscanError


class LocalBuildError(DeployscanError):
    """The local executor could not run a build at all (not: the build failed)."""


class BuildspecError(LocalBuildError):
    """The buildspec is not one CodeBuild would accept."""


class SecretResolutionError(LocalBuildError):
    """A `secrets-manager` or `parameter-store` value could not be read; the build fails."""
