"""Download one zip package from its presigned URL and verify it against Lambda's CodeSha256.

The URL is presigned (its query string is the authorisation), so the request carries no
credentials of ours and follows no redirect: a redirect, a 403 (expired or tampered URL), any
other non-200, a body longer than the bound or shorter than announced, or a hash that is not
`CodeSha256` is a `PullError`. The file goes to a temporary name and is renamed into place only
once verified, so nothing unverified is ever unpacked.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from urllib.parse import urlsplit

import requests

from scanner_runner.errors import PullError

CHUNK = 1 << 20
CONNECT_TIMEOUT, READ_TIMEOUT = 10.0, 60.0


def describe_url(url: str) -> str:
    """The URL without its query (the presigned signature never reaches a message)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}{parts.path[:120]}"


def download(
    url: str,
    dest: Path,
    code_sha256: str,
    *,
    max_bytes: int,
    session: requests.Session | None = None,
) -> Path:
    """Stream `url` to `dest`, at most `max_bytes`, and check its SHA-256 equals `code_sha256`
    (base64, as Lambda reports it); PullError otherwise, and nothing is left at `dest`."""
    where = describe_url(url)
    if urlsplit(url).scheme != "https":
        raise PullError(f"refusing a code location that is not https: {where}")
    http = session or requests.Session()
    tmp = dest.with_name(f".{dest.name}.part")
    digest = hashlib.sha256()
    received = 0
    try:
        with http.get(
            url, stream=True, allow_redirects=False, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT)
        ) as answer:
            if (
                answer.is_redirect
                or answer.is_permanent_redirect
                or 300 <= answer.status_code < 400
            ):
                raise PullError(f"code download from {where} redirected (refused)")
            if answer.status_code != 200:
                raise PullError(f"code download from {where} answered HTTP {answer.status_code}")
            announced = answer.headers.get("Content-Length")
            if announced is not None and announced.isdigit() and int(announced) > max_bytes:
                raise PullError(f"code at {where} is {announced} bytes, above {max_bytes}")
            with open(tmp, "wb") as out:
                for chunk in answer.iter_content(CHUNK):
                    received += len(chunk)
                    if received > max_bytes:
                        raise PullError(f"code at {where} is larger than {max_bytes} bytes")
                    digest.update(chunk)
                    out.write(chunk)
            if announced is not None and announced.isdigit() and received != int(announced):
                raise PullError(f"code download from {where} truncated: {received}/{announced}")
    except requests.RequestException as exc:
        tmp.unlink(missing_ok=True)
        raise PullError(f"code download from {where} failed: {type(exc).__name__}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    got = base64.b64encode(digest.digest()).decode("ascii")
    if got != code_sha256:
        tmp.unlink(missing_ok=True)
        raise PullError(
            f"code from {where} does not match its CodeSha256: got {got}, expected {code_sha256}"
        )
    os.replace(tmp, dest)
    return dest
