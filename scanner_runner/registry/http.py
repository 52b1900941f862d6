"""HTTP to one registry: scheme policy, retries with backoff, auth challenges, safe redirects.

Redirects are followed by hand (`allow_redirects=False`) so the registry's Authorization header
goes only to the registry's own origin, never to storage (ECR answers blob GETs with a 307 to S3).
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import requests

from scanner_runner.errors import PullError
from scanner_runner.registry.auth import Authenticator
from scanner_runner.registry.credentials import Credentials

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
TRANSIENT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


class Transport:
    """Sends GETs to one registry host and returns streaming 200/206 responses."""

    def __init__(
        self,
        host: str,
        *,
        session: requests.Session,
        credentials: Credentials | None,
        insecure_hosts: Iterable[str] = (),
        sleep: Callable[[float], None] = time.sleep,
        attempts: int = 5,
        backoff: float = 0.5,
        max_retry_after: float = 60.0,
        max_redirects: int = 5,
        timeout: tuple[float, float] = (10.0, 60.0),
    ) -> None:
        self.host = host
        self._insecure = frozenset(h.strip().lower() for h in insecure_hosts if h.strip())
        scheme = "http" if self._is_insecure(host) else "https"
        self.base_url = f"{scheme}://{host}"
        self.session = session
        self.sleep = sleep
        self.attempts = attempts
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self.max_redirects = max_redirects
        self.timeout = timeout
        self.auth = Authenticator(session, credentials, url_allowed=self.url_allowed)

    def url_allowed(self, url: str) -> bool:
        """HTTPS anywhere; plain HTTP only to hosts named as insecure registries."""
        parts = urlsplit(url)
        if parts.scheme == "https":
            return bool(parts.netloc)
        return parts.scheme == "http" and self._is_insecure(parts.netloc)

    def open(
        self, path: str, *, scope: str, headers: Mapping[str, str] | None = None
    ) -> requests.Response:
        """GET `path` (retrying, authenticating, redirecting); the caller closes the response."""
        answered = False
        failures = 0
        while True:
            try:
                response = self._follow(self.base_url + path, dict(headers or {}))
            except TRANSIENT_ERRORS as exc:
                failures += 1
                if failures >= self.attempts:
                    raise PullError(f"{self.host}: connection failed: {_short(exc)}") from exc
                self.sleep(self._delay(failures, None))
                continue
            status = response.status_code
            if status in (200, 206):
                return response
            response.close()
            if status == 401 and _same_origin(response.url, self.base_url):
                if answered:
                    raise PullError(f"{self.host}: registry rejected the credentials (auth loop)")
                answered = True
                self.auth.answer(response, scope)
                continue
            if status in RETRY_STATUSES:
                failures += 1
                if failures >= self.attempts:
                    raise PullError(f"{self.host}: HTTP {status} after {failures} attempts")
                self.sleep(self._delay(failures, response.headers.get("Retry-After")))
                continue
            raise PullError(_status_message(self.host, path, status))

    def _follow(self, url: str, headers: dict[str, str]) -> requests.Response:
        for _ in range(self.max_redirects + 1):
            sent = dict(headers)
            if self.auth.header and _same_origin(url, self.base_url):
                sent["Authorization"] = self.auth.header
            response = self.session.get(
                url, headers=sent, stream=True, allow_redirects=False, timeout=self.timeout
            )
            if response.status_code not in REDIRECT_STATUSES:
                return response
            location = response.headers.get("Location", "")
            response.close()
            target = urljoin(url, location)
            if not location or not self.url_allowed(target):
                # Without the query: a presigned storage URL carries a signature and a token.
                shown = urlsplit(target)._replace(query="", fragment="").geturl()
                raise PullError(f"{self.host}: refusing redirect to {shown[:120]!r}")
            url = target
        raise PullError(f"{self.host}: too many redirects (loop?)")

    def _delay(self, failures: int, retry_after: str | None) -> float:
        wait = min(self.backoff * 2 ** (failures - 1), 8.0)
        asked = _retry_after_seconds(retry_after)
        if asked is not None:
            if asked > self.max_retry_after:
                raise PullError(f"{self.host}: registry asked to retry after {asked:.0f} s")
            wait = max(wait, asked)
        return wait

    def _is_insecure(self, netloc: str) -> bool:
        netloc = netloc.lower()
        return netloc in self._insecure or netloc.rsplit(":", 1)[0] in self._insecure


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.netloc.lower()) == (b.scheme, b.netloc.lower())


def _status_message(host: str, path: str, status: int) -> str:
    what = path.rsplit("/", 1)[-1][:80]
    if status == 404:
        return f"{host}: not found: {what}"
    if status == 403:
        return f"{host}: access denied to {what}"
    return f"{host}: HTTP {status} for {what}"


def _short(exc: BaseException) -> str:
    text = str(exc)
    if "Caused by " in text:  # urllib3's MaxRetryError wraps the useful part
        text = text.split("Caused by ", 1)[1].split("(", 1)[0]
        reason = re.sub(r"[)'\" ]+$", "", str(exc).rsplit(": ", 1)[-1])
        text = f"{text} ({reason[:100]})"
    return text.splitlines()[0][:160] if text else type(exc).__name__
