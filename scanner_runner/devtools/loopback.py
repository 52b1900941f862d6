"""An HTTP server on 127.0.0.1 in a daemon thread: what the demo's stand-ins for AWS endpoints
share. `with` starts it and shuts it down (its socket closed)."""

from __future__ import annotations

import http.server
import threading
from types import TracebackType
from typing import Self


class LoopbackServer:
    """Subclasses call `_serve(handler)` in `__init__` (and may wrap `_httpd.socket` in TLS)."""

    _httpd: http.server.ThreadingHTTPServer
    _thread: threading.Thread

    def _serve(self, handler: type[http.server.BaseHTTPRequestHandler]) -> None:
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self._httpd.server_address[1])

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
