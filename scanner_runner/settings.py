"""Runner settings: read once from the environment into a frozen object, then passed down.

Build variables that describe *what* to scan (IMAGE_REF, IMAGE_DIGEST, …) are read by the CLI as
option defaults; this module holds *how* to scan and where results go.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from scanner_runner.errors import SettingsError
from scanner_runner.scanners.interface import QualysCredentials
from scanner_runner.scanners.layers import DEFAULT_MAX_UNPACKED_BYTES

DEFAULT_PREFIX = "deployscan"
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class Settings:
    """Everything the runner reads from its environment, validated."""

    results_bucket: str = ""
    results_prefix: str = DEFAULT_PREFIX
    results_kms_key_id: str = ""
    qualys_secret_arn: str = ""
    qualys_pod: str = ""
    qualys_gateway_url: str = ""
    credentials: QualysCredentials = field(default_factory=QualysCredentials)
    registry_username: str = ""
    registry_password: str = field(default="", repr=False)
    qscanner_path: str = ""
    scanner: str = ""
    scan_types: tuple[str, ...] = ("pkg",)
    sns_topic_arn: str = ""
    scan_timeout: int = 300
    scan_cache_table: str = ""
    cache_ttl_hours: int = 24
    fail_on: str = "high"
    policy_tags: tuple[str, ...] = ()
    policy_ignore: str = ""
    deny_list: str = ""
    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES
    security_hub: bool = False
    event_bus: str = ""
    metrics: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read and validate the runner's environment variables (SettingsError when invalid)."""

        def get(name: str, default: str = "") -> str:
            return env.get(name, "").strip() or default

        bucket = get("RESULTS_S3_BUCKET")
        if bucket and not _BUCKET_RE.match(bucket):
            raise SettingsError(f"RESULTS_S3_BUCKET {bucket!r} is not a bucket name")
        return cls(
            results_bucket=bucket,
            results_prefix=get("RESULTS_S3_PREFIX", DEFAULT_PREFIX).strip("/"),
            results_kms_key_id=get("RESULTS_S3_KMS_KEY_ID"),
            qualys_secret_arn=get("QUALYS_SECRET_ARN"),
            qualys_pod=get("QUALYS_POD"),
            qualys_gateway_url=get("QUALYS_GATEWAY_URL"),
            credentials=QualysCredentials(
                access_token=get("QUALYS_ACCESS_TOKEN"),
                client_id=get("QUALYS_CLIENT_ID"),
                client_secret=get("QUALYS_CLIENT_SECRET"),
            ),
            qscanner_path=get("QSCANNER_PATH"),
            scanner=get("SCANNER"),
            scan_types=_csv(get("SCAN_TYPES", "pkg")),
            sns_topic_arn=get("SNS_TOPIC_ARN"),
            scan_timeout=_positive_int(env, "SCAN_TIMEOUT", 300),
            scan_cache_table=get("SCAN_CACHE_TABLE"),
            cache_ttl_hours=_positive_int(env, "CACHE_TTL_HOURS", 24),
            fail_on=get("FAIL_ON", "high").lower(),
            policy_tags=_csv(get("POLICY_TAGS")),
            policy_ignore=get("POLICY_IGNORE"),
            deny_list=get("DENY_LIST"),
            max_unpacked_bytes=_positive_int(env, "MAX_UNPACKED_BYTES", DEFAULT_MAX_UNPACKED_BYTES),
            security_hub=_switch(env, "SECURITY_HUB"),
            event_bus=get("EVENT_BUS_NAME"),
            metrics=_switch(env, "DEPLOYSCAN_METRICS"),
        )

    def with_secret(self, secret_string: str) -> Settings:
        """Fill pod and credentials from the Qualys secret's JSON (values already set win)."""
        try:
            data: Any = json.loads(secret_string)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise SettingsError("the Qualys secret is not JSON") from exc
        if not isinstance(data, dict):
            raise SettingsError("the Qualys secret is not a JSON object")

        def text(key: str) -> str:
            value = data.get(key, "")
            return value.strip() if isinstance(value, str) else ""

        credentials = self.credentials
        if not credentials.present:
            credentials = QualysCredentials(
                access_token=text("qualys_access_token"),
                client_id=text("qualys_client_id"),
                client_secret=text("qualys_client_secret"),
            )
        return replace(
            self,
            qualys_pod=self.qualys_pod or text("qualys_pod"),
            credentials=credentials,
            registry_username=self.registry_username or text("registry_username"),
            registry_password=self.registry_password or text("registry_password"),
        )

    def secrets(self) -> tuple[str, ...]:
        """Every secret value held, for redaction."""
        return tuple(s for s in (*self.credentials.secrets(), self.registry_password) if s)


def _csv(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _switch(env: Mapping[str, str], name: str) -> bool:
    """`on` / `off` (default off); anything else is a SettingsError."""
    raw = env.get(name, "").strip().lower() or "off"
    if raw not in ("on", "off"):
        raise SettingsError(f"{name} must be on or off, got {raw[:40]!r}")
    return raw == "on"


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise SettingsError(f"{name} must be a positive whole number, got {raw!r}")
    return int(raw)
