"""Fixtures for a real local OCI registry (docker-registry) and images built by code.

`registry` is plain HTTP without auth; `auth_registry` requires Basic auth like ECR
(`AWS:<token>`; `.username`, `.password`, `.auth` expose it). Both live for the test session
(one per xdist worker), in a temp dir, and are stopped by PID at the end.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from scanner_runner.devtools.localregistry import LocalRegistry

AUTH_USERNAME = "AWS"


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """A plain-HTTP registry on 127.0.0.1; push with `imagebuild.Pusher(registry.url)`."""
    with LocalRegistry(tmp_path_factory.mktemp("registry")) as server:
        yield server


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """A registry that wants Basic auth `AWS:<random token>` (see `.auth`)."""
    token = secrets.token_urlsafe(24)
    root = tmp_path_factory.mktemp("auth-registry")
    with LocalRegistry(root, username=AUTH_USERNAME, password=token) as server:
        yield server
