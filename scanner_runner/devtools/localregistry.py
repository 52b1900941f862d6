"""A real OCI registry (the `docker-registry` binary, CNCF distribution) on a loopback port.

Used by the tests, the benchmark and `deployscan demo`. Optional htpasswd Basic auth mimics ECR's
`AWS:<token>` login. The server is stopped by PID.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import requests

from scanner_runner.errors import DeployscanError

BINARY = "docker-registry"
START_TIMEOUT = 10.0


class LocalRegistryError(DeployscanError):
    """The local registry could not be started."""


class LocalRegistry:
    """`docker-registry serve` on a free 127.0.0.1 port, storage and config under `root`."""

    def __init__(
        self, root: Path, *, username: str | None = None, password: str | None = None
    ) -> None:
        binary = shutil.which(BINARY)
        if binary is None:
            raise LocalRegistryError(f"{BINARY} not found: install docker-registry: make sysdeps")
        if (username is None) != (password is None):
            raise LocalRegistryError("give both username and password, or neither")
        self.root = root
        self.username = username
        self.password = password
        root.mkdir(parents=True, exist_ok=True)
        self._process: subprocess.Popen[bytes] | None = None
        self.port = 0
        for _ in range(3):  # the free port can be taken between probing and binding
            self.port = _free_port()
            self._start(binary)
            if self._wait_ready():
                return
            self.stop()
        log = (root / "registry.log").read_text(errors="replace")[-400:]
        raise LocalRegistryError(f"{BINARY} did not start: {log.strip()}")

    @property
    def host(self) -> str:
        """`127.0.0.1:PORT`, the registry part of image references."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`."""
        return f"http://{self.host}"

    @property
    def pid(self) -> int:
        """The server's process id."""
        if self._process is None:
            raise LocalRegistryError("registry is not running")
        return self._process.pid

    @property
    def auth(self) -> tuple[str, str] | None:
        """(username, password) when the registry requires Basic auth."""
        if self.username is None or self.password is None:
            return None
        return (self.username, self.password)

    def stop(self) -> None:
        """Terminate the server by PID and wait for it (kill if it lingers)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def __enter__(self) -> LocalRegistry:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _start(self, binary: str) -> None:
        config = self.root / "config.yml"
        config.write_text(self._config(), encoding="utf-8")
        with (self.root / "registry.log").open("ab") as log:
            self._process = subprocess.Popen(
                [binary, "serve", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=self.root,
            )

    def _config(self) -> str:
        lines = [
            "version: 0.1",
            "log: {level: error, accesslog: {disabled: true}}",
            "storage:",
            f"  filesystem: {{rootdirectory: '{self.root / 'data'}'}}",
            "  delete: {enabled: true}",
            "  cache: {blobdescriptor: inmemory}",
            f"http: {{addr: '127.0.0.1:{self.port}', secret: local-only}}",
            "health: {storagedriver: {enabled: false}}",
        ]
        if self.username is not None and self.password is not None:
            import bcrypt  # noqa: PLC0415 - a dev/demo dependency, needed only with auth

            hashed = bcrypt.hashpw(self.password.encode(), bcrypt.gensalt(rounds=6)).decode()
            htpasswd = self.root / "htpasswd"
            htpasswd.write_text(f"{self.username}:{hashed}\n", encoding="utf-8")
            lines.append(f"auth: {{htpasswd: {{realm: deployscan-local, path: '{htpasswd}'}}}}")
        return "\n".join(lines) + "\n"

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                return False
            try:
                answer = requests.get(f"{self.url}/v2/", timeout=1)
                if answer.status_code in (200, 401):
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.02)
        return False


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
