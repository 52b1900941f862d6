"""AWS emulation fixtures: moto in process, and moto's server on loopback for subprocesses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from scanner_runner.devtools.demo.motoserver import MotoServer


@pytest.fixture
def aws() -> Iterator[None]:
    """Every boto3 call inside the test goes to a fresh in-process moto."""
    with mock_aws():
        yield


@pytest.fixture(scope="module")
def moto_server() -> Iterator[MotoServer]:
    """moto's threaded server on loopback, for build subprocesses (reset it per test)."""
    with MotoServer() as server:
        yield server
