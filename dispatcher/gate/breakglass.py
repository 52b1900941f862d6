"""The break-glass allow-list: repositories or digests allowed until an expiry, with a reason.

Stored as JSON, `{"entries": [{"repository"|"digest": ..., "expires": ISO-8601, "reason": ...}]}`
(or the bare list), in S3 (`s3://bucket/key`) or SSM Parameter Store (`ssm:/name`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dispatcher.errors import SettingsError, aws_error_code
from dispatcher.imageref import ImageRef


@dataclass(frozen=True)
class BreakGlass:
    """One allow-list entry: a repository (`registry/repository`) or a digest, until `expires`."""

    repository: str
    digest: str
    expires: float  # epoch seconds
    reason: str

    def covers(self, image: ImageRef, now: float) -> bool:
        """True while unexpired and naming this image's digest or repository."""
        if now >= self.expires:
            return False
        if self.digest:
            return image.digest == self.digest
        return self.repository in (image.repository, f"{image.registry}/{image.repository}")


def parse_breakglass(text: str) -> tuple[BreakGlass, ...]:
    """The entries of an allow-list document; `SettingsError` when it is malformed."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise SettingsError(f"break-glass list is not JSON: {exc}") from exc
    raw = document.get("entries") if isinstance(document, dict) else document
    if not isinstance(raw, list):
        raise SettingsError("break-glass list must be a list of entries")
    return tuple(_entry(item, n) for n, item in enumerate(raw))


def _entry(item: Any, n: int) -> BreakGlass:
    if not isinstance(item, dict):
        raise SettingsError(f"break-glass entry {n} is not an object")
    repository, digest = str(item.get("repository") or ""), str(item.get("digest") or "")
    reason = str(item.get("reason") or "").strip()
    if bool(repository) == bool(digest) or not reason:
        raise SettingsError(f"break-glass entry {n} needs one of repository/digest and a reason")
    try:
        when = datetime.fromisoformat(str(item.get("expires")))
    except ValueError as exc:
        raise SettingsError(f"break-glass entry {n} has no ISO-8601 expires") from exc
    expires = (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()  # naive: UTC
    return BreakGlass(repository, digest, expires, reason[:300])


def load_breakglass(source: str, *, s3: Any = None, ssm: Any = None) -> tuple[BreakGlass, ...]:
    """Read the allow-list from `s3://bucket/key` or `ssm:/name` (clients injected)."""
    if not source:
        return ()
    try:
        if source.startswith("s3://"):
            bucket, _, key = source[5:].partition("/")
            text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        elif source.startswith("ssm:"):
            name = source[4:]
            text = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
        else:
            raise SettingsError(f"break-glass source must be s3://... or ssm:...: {source}")
    except SettingsError:
        raise
    except Exception as exc:  # botocore errors, wrapped once at this seam
        raise SettingsError(f"cannot read the break-glass list: {aws_error_code(exc)}") from exc
    return parse_breakglass(text)
