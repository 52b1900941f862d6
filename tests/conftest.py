"""Suite-wide rules: fake AWS credentials, no real AWS config, shared fixtures from plugins."""

from __future__ import annotations

import os

import pytest

# Set before any test module imports boto3, so nothing can reach real AWS with real credentials.
_FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
os.environ.update(_FAKE_AWS)
os.environ.pop("AWS_PROFILE", None)

# Each area keeps its shared fixtures in its own plugin module under tests/plugins/.
pytest_plugins = [
    "tests.plugins.aws",
    "tests.plugins.registry",
]


@pytest.fixture(autouse=True)
def _fake_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Re-assert the fake credentials for every test, whatever an earlier test changed."""
    for key, value in _FAKE_AWS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
