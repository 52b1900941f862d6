"""A small hostile registry: an `http.server` on 127.0.0.1 serving crafted answers per path.

Each test registers route handlers `(request) -> None` that write whatever the scenario needs
(bad digests, loops, dropped connections...). Every request is recorded with its headers.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from scanner_runner.devtools import imagebuild

Route = Callable[["Handler"], None]


@dataclass
class Seen:
    """One request as the server saw it."""

    path: str
    headers: dict[str, str]
    query: str = ""


@dataclass
class Hostile:
    """Routes by path (query ignored); unknown paths get 404."""

    routes: dict[str, Route] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> Hostile:
        """Listen on a free loopback port in a daemon thread."""
        server = _Server(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.hostile = self  # type: ignore[attr-defined]
        self._server = server
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    @property
    def host(self) -> str:
        """`127.0.0.1:PORT`."""
        assert self._server is not None
        return f"127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`."""
        return f"http://{self.host}"

    def paths(self) -> list[str]:
        """The paths requested so far, in order."""
        return [s.path for s in self.seen]

    def stop(self) -> None:
        """Shut the server down and close its socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Hostile:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def serve_image(self, repository: str, image: imagebuild.Image, tag: str = "1") -> None:
        """Serve `image` honestly (manifest by tag and digest, config, layers)."""
        manifest = reply(200, image.manifest, content_type=image.media_type, digest=image.digest)
        self.routes[f"/v2/{repository}/manifests/{tag}"] = manifest
        self.routes[f"/v2/{repository}/manifests/{image.digest}"] = manifest
        for blob in (image.config, *image.layers):
            assert blob.data is not None
            self.routes[f"/v2/{repository}/blobs/{blob.digest}"] = reply(200, blob.data)


class _Server(ThreadingHTTPServer):
    """Quiet about clients that hang up (the puller drops connections on purpose when it
    refuses a stream); any other handler error is recorded on the Hostile (the fixtures fail
    the test on it) and still printed."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError):  # reset, broken pipe, aborted: an expected hang-up
            return
        if exc is not None:
            self.hostile.errors.append(exc)  # type: ignore[attr-defined]
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    """Dispatches to the Hostile's routes; HTTP/1.1 so clients may keep connections."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        hostile: Hostile = self.server.hostile  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        hostile.seen.append(Seen(parts.path, dict(self.headers.items()), parts.query))
        route = hostile.routes.get(parts.path)
        if route is None:
            send(self, 404, b'{"errors":[{"code":"NOT_FOUND"}]}')
        else:
            route(self)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    length: int | None = None,
) -> None:
    """Write a whole response (Content-Length = `length` if given, else the body's)."""
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body) if length is None else length))
    handler.end_headers()
    handler.wfile.write(body)


def reply(
    status: int,
    body: bytes = b"",
    *,
    content_type: str | None = None,
    digest: str | None = None,
    headers: dict[str, str] | None = None,
) -> Route:
    """A route that always answers the same."""
    extra = dict(headers or {})
    if content_type:
        extra["Content-Type"] = content_type
    if digest:
        extra["Docker-Content-Digest"] = digest
    return lambda h: send(h, status, body, extra)
