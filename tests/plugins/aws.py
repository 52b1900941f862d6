"""AWS emulation fixtures (moto, in process)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws


@pytest.fixture
def aws() -> Iterator[None]:
    """Every boto3 call inside the test goes to a fresh in-process moto."""
    with mock_aws():
        yield
