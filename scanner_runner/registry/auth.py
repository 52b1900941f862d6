"""Registry authentication: Basic (ECR's `AWS:<token>`) and Bearer token challenges.

A 401 carries `WWW-Authenticate`; Basic is answered with the credentials, Bearer by fetching a
token from the realm (anonymously or with Basic credentials) for the repository's pull scope.
Answering the same request's challenge twice is an auth loop and is refused.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from urllib.parse import urlsplit

import requests

from scanner_runner.errors import PullError
from scanner_runner.registry.credentials import Credentials

_PARAM_RE = re.compile(r'([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')
MAX_TOKEN_RESPONSE = 1024 * 1024


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """Split `WWW-Authenticate` into a lower-case scheme and its parameters."""
    scheme, _, rest = header.strip().partition(" ")
    params = {m[1].lower(): (m[2] if m[2] is not None else m[3]) for m in _PARAM_RE.finditer(rest)}
    return scheme.lower(), params


def basic_header(credentials: Credentials) -> str:
    """`Basic base64(user:pass)`."""
    raw = f"{credentials.username}:{credentials.password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


class Authenticator:
    """Holds the Authorization header for one registry host and answers its challenges."""

    def __init__(
        self,
        session: requests.Session,
        credentials: Credentials | None,
        *,
        url_allowed: Callable[[str], bool],
        timeout: tuple[float, float] = (10.0, 30.0),
    ) -> None:
        self._session = session
        self._credentials = credentials
        self._url_allowed = url_allowed
        self._timeout = timeout
        self._header: str | None = None
        if credentials is not None and credentials.preemptive:
            self._header = basic_header(credentials)

    @property
    def header(self) -> str | None:
        """The Authorization header to send to the registry host, if any."""
        return self._header

    def answer(self, response: requests.Response, scope: str) -> None:
        """Answer a 401 from the registry so the next attempt carries new authorization."""
        header = response.headers.get("WWW-Authenticate", "")
        scheme, params = parse_challenge(header)
        if scheme == "basic":
            if self._credentials is None:
                raise PullError("registry requires credentials (use --creds or docker login)")
            self._header = basic_header(self._credentials)
        elif scheme == "bearer":
            self._header = "Bearer " + self._fetch_token(params, scope)
        else:
            raise PullError(f"registry sent an unsupported auth challenge: {header[:80]!r}")

    def _fetch_token(self, params: dict[str, str], scope: str) -> str:
        realm = params.get("realm", "")
        if not realm or not self._url_allowed(realm):
            raise PullError(f"registry sent an unusable token realm: {realm[:120]!r}")
        query = {"scope": params.get("scope") or scope}
        if params.get("service"):
            query["service"] = params["service"]
        headers = {}
        if self._credentials is not None:
            headers["Authorization"] = basic_header(self._credentials)
        try:
            response = self._session.get(
                realm,
                params=query,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
                stream=True,
            )
            body = response.raw.read(MAX_TOKEN_RESPONSE + 1, decode_content=True)
            response.close()
        except requests.RequestException as exc:
            raise PullError(f"token request to {urlsplit(realm).netloc} failed: {exc}") from exc
        if response.status_code in (401, 403):
            raise PullError(f"token server {urlsplit(realm).netloc} refused the credentials")
        if response.status_code != 200 or len(body) > MAX_TOKEN_RESPONSE:
            raise PullError(f"token server answered HTTP {response.status_code}")
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise PullError("token server answered with non-JSON") from exc
        token = data.get("token") or data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token or not token.isprintable():
            raise PullError("token server answered without a token")
        return token
