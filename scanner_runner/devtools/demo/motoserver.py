"""The AWS emulator for the demo and the build tests: moto's threaded server on loopback.

Build subprocesses reach it through AWS_ENDPOINT_URL (honoured by boto3), with fake credentials,
so nothing can reach real AWS. moto is a dev dependency (`make venv` installs it).
"""

from __future__ import annotations

import logging
import socket
import time
from types import TracebackType
from typing import Any

import boto3
import requests

from scanner_runner.errors import DeployscanError

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "demo",
    "AWS_SECRET_ACCESS_KEY": "demo",
    "AWS_SESSION_TOKEN": "demo",
}
ACCOUNT = "123456789012"  # moto's default account


class MotoServerError(DeployscanError):
    """The emulator could not be started (moto missing or no free port)."""


class MotoServer:
    """`ThreadedMotoServer` on a free 127.0.0.1 port; `stop()` (or the context) ends it."""

    def __init__(self, region: str = "us-east-1") -> None:
        try:
            from moto.server import ThreadedMotoServer  # noqa: PLC0415 - dev dependency
        except ImportError as exc:
            raise MotoServerError(
                "moto is not installed: run make venv (or pip install 'deployscan[demo]')"
            ) from exc
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log on the terminal
        self.region = region
        self.port = _free_port()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        self._running = True
        self._wait_ready()
        self.reset()  # moto's backends live in this process: start from nothing

    @property
    def endpoint(self) -> str:
        """`http://127.0.0.1:PORT`."""
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        """Variables that point boto3 (in a subprocess) at the emulator with fake credentials."""
        return {
            **FAKE_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def session(self) -> boto3.session.Session:
        """A boto3 session with the fake credentials, in the emulator's region."""
        return boto3.session.Session(
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
            region_name=self.region,
        )

    def client(self, service: str) -> Any:
        """A boto3 client for `service` pointed at the emulator."""
        return self.session().client(service, endpoint_url=self.endpoint)

    def reset(self) -> None:
        """Wipe every emulated resource."""
        requests.post(f"{self.endpoint}/moto-api/reset", timeout=10).raise_for_status()

    def stop(self) -> None:
        """Stop the server thread (idempotent)."""
        if self._running:
            self._running = False
            self._server.stop()

    def __enter__(self) -> MotoServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.endpoint}/moto-api/", timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.05)
        self.stop()
        raise MotoServerError(f"moto server did not answer on {self.endpoint}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
