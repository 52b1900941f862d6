"""Fixtures for zip Lambda tests: the HTTPS code server (trusted through REQUESTS_CA_BUNDLE)
and a Lambda client whose calls a botocore Stubber checks exactly (moto serves no code)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from scanner_runner.devtools.codeserve import CodeServer
from tests.runner.conftest import double, make_options  # the QScanner double's fixtures

__all__ = ["double", "make_options"]

REGION = "eu-west-1"
ACCOUNT = "111122223333"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders"
LAYER = f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:shared-libs:4"


@pytest.fixture(scope="module")
def code_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CodeServer]:
    """The HTTPS code server on loopback, for the module."""
    with CodeServer(tmp_path_factory.mktemp("tls")) as server:
        yield server


@pytest.fixture
def trusted(code_server: CodeServer, monkeypatch: pytest.MonkeyPatch) -> CodeServer:
    """The code server, its CA trusted the standard way for this test."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(code_server.ca_bundle))
    return code_server


class StubSession:
    """A boto3-session stand-in whose `client("lambda")` is the stubbed client."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.regions: list[str | None] = []

    def client(self, name: str, region_name: str | None = None, **_: Any) -> Any:
        """The stubbed Lambda client (any other service is a test error)."""
        assert name == "lambda", name
        self.regions.append(region_name)
        return self._client


@pytest.fixture
def lambda_stub() -> Iterator[tuple[Stubber, StubSession]]:
    """A real botocore Lambda client under a Stubber, and a session handing it out."""
    client = boto3.client(
        "lambda", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    with Stubber(client) as stubber:
        yield stubber, StubSession(client)
        stubber.assert_no_pending_responses()


def function_answer(
    location: str,
    sha: str,
    size: int,
    *,
    layers: tuple[str, ...] = (),
    version: str = "3",
    runtime: str = "python3.12",
    package: str = "Zip",
) -> dict[str, Any]:
    """GetFunction's answer for a zip function (the fields the runner reads)."""
    return {
        "Configuration": {
            "FunctionName": "orders",
            "FunctionArn": f"{FUNCTION}:{version}",
            "Runtime": runtime,
            "CodeSha256": sha,
            "CodeSize": size,
            "Version": version,
            "PackageType": package,
            "Layers": [{"Arn": arn, "CodeSize": 1} for arn in layers],
        },
        "Code": {"RepositoryType": "S3", "Location": location},
    }


def layer_answer(location: str, sha: str, size: int, arn: str = LAYER) -> dict[str, Any]:
    """GetLayerVersionByArn's answer."""
    return {
        "Content": {"Location": location, "CodeSha256": sha, "CodeSize": size},
        "LayerArn": arn.rsplit(":", 1)[0],
        "LayerVersionArn": arn,
        "Version": int(arn.rsplit(":", 1)[1]),
        "CompatibleRuntimes": ["python3.12"],
    }


def work_dirs(tmp_path: Path) -> tuple[Path, Path]:
    """(output dir, work dir) of one scan under tmp_path."""
    return tmp_path / "out", tmp_path / "work"
