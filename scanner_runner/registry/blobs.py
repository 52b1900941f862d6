"""Blob downloads: streamed in bounded chunks, size-capped, digest-verified, resumed with Range."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import requests
import urllib3

from scanner_runner.errors import PullError
from scanner_runner.registry import media
from scanner_runner.registry.http import Transport
from scanner_runner.registry.media import Descriptor

CHUNK = 1024 * 1024
DROPPED = (
    urllib3.exceptions.HTTPError,
    requests.RequestException,
    ConnectionError,
    TimeoutError,
)

Writer = Callable[[int, bytes], None]


class Cancelled(Exception):
    """Another download failed; this one stopped early (never escapes `pull`)."""


def fetch_blob(
    transport: Transport,
    repository: str,
    desc: Descriptor,
    scope: str,
    write: Writer,
    *,
    progress: Callable[[int], None] = lambda _n: None,
    cancel: threading.Event | None = None,
    resumes: int = 5,
) -> None:
    """Stream blob `desc` to `write(offset, chunk)`; refuse a longer stream or a wrong digest.

    A connection that drops mid-blob is resumed with `Range: bytes=<received>-` (restarting if
    the server ignores the range), at most `resumes` times.
    """
    path = f"/v2/{repository}/blobs/{desc.digest}"
    state = _Download(desc, write, progress, cancel)
    drops = 0
    while True:
        headers = {"Range": f"bytes={state.received}-"} if state.received else {}
        response = transport.open(path, scope=scope, headers=headers)
        try:
            if state.received and response.status_code == 200:
                state.restart()
            elif response.status_code == 206:
                _check_range(response, state.received, desc)
            if state.copy(response):
                break
        except DROPPED:
            pass  # resumed below
        finally:
            response.close()
        drops += 1
        if drops > resumes:
            raise PullError(f"blob {desc.digest}: connection dropped {drops} times, giving up")
        transport.sleep(min(transport.backoff * 2 ** (drops - 1), 8.0))
    if state.hasher.hexdigest() != desc.hex:
        raise PullError(
            f"digest mismatch for blob: expected {desc.digest}, got "
            f"{desc.algorithm}:{state.hasher.hexdigest()}"
        )


class _Download:
    """Progress of one blob across resumed requests: bytes received and the running hash."""

    def __init__(
        self,
        desc: Descriptor,
        write: Writer,
        progress: Callable[[int], None],
        cancel: threading.Event | None,
    ) -> None:
        self.desc = desc
        self.write = write
        self.progress = progress
        self.cancel = cancel
        self.hasher: Any = media.hasher_for(desc.digest)
        self.received = 0

    def restart(self) -> None:
        """The server ignored Range: start over (bytes are rewritten at the same offsets)."""
        self.hasher = media.hasher_for(self.desc.digest)
        self.received = 0

    def copy(self, response: requests.Response) -> bool:
        """Copy the body up to the descriptor's size; True when complete, False if cut short."""
        desc = self.desc
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and self.received + int(length) > desc.size:
            raise PullError(f"blob {desc.digest} is longer than its descriptor ({desc.size})")
        while self.received < desc.size:
            if self.cancel is not None and self.cancel.is_set():
                raise Cancelled
            chunk = response.raw.read(min(CHUNK, desc.size - self.received))
            if not chunk:
                return False
            if self.cancel is not None and self.cancel.is_set():
                raise Cancelled  # an interrupted pull may already have closed and removed the file
            self.hasher.update(chunk)
            self.write(self.received, chunk)
            self.received += len(chunk)
            self.progress(len(chunk))
        if response.raw.read(1):
            raise PullError(f"blob {desc.digest} is longer than its descriptor")
        return True


def fetch_small(transport: Transport, repository: str, desc: Descriptor, scope: str) -> bytes:
    """A whole small blob (the image config) in memory, verified."""
    buffer = bytearray(desc.size)

    def put(offset: int, chunk: bytes) -> None:
        buffer[offset : offset + len(chunk)] = chunk

    fetch_blob(transport, repository, desc, scope, put)
    return bytes(buffer)


def _check_range(response: requests.Response, received: int, desc: Descriptor) -> None:
    content_range = response.headers.get("Content-Range", "")
    unit, _, spec = content_range.partition(" ")
    start = spec.partition("-")[0]
    if unit != "bytes" or not start.isdigit() or int(start) != received:
        raise PullError(f"blob {desc.digest}: server answered a bad Content-Range")
