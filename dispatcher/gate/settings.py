"""The gate's settings, read once from the environment into a frozen dataclass."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from dispatcher.errors import SettingsError

AUDIT = "audit"
ENFORCE = "enforce"
ALLOW = "allow"
DENY = "deny"
SYFT = "syft"
QSCANNER = "qscanner"
DEFAULT_MAX_WAIT_MINUTES = 10
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class GateSettings:
    """How the gate answers: its mode, how long a deploy may wait, what timeouts and errors mean."""

    mode: str = AUDIT
    max_wait_minutes: int = DEFAULT_MAX_WAIT_MINUTES
    on_timeout: str = DENY
    on_error: str = DENY
    scanner: str = SYFT  # the scanner the stack runs: syft records carry no vulnerability data
    breakglass_source: str = ""  # s3://bucket/key or ssm:/parameter; empty: no allow-list
    code_buckets: tuple[str, ...] = ()  # S3 buckets the CloudFormation hook reads zip code from

    @property
    def enforcing(self) -> bool:
        """True when a deny blocks the deploy (else it is logged and reported only)."""
        return self.mode == ENFORCE

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> GateSettings:
        """Read GATE_MODE, GATE_MAX_WAIT_MINUTES, GATE_ON_TIMEOUT, GATE_ON_ERROR, SCANNER and
        GATE_BREAKGLASS and GATE_CODE_BUCKETS (comma-separated bucket names); `SettingsError`
        for a value outside its choices."""
        wait = env.get("GATE_MAX_WAIT_MINUTES", "").strip() or str(DEFAULT_MAX_WAIT_MINUTES)
        if not wait.isdigit() or int(wait) > 24 * 60:
            raise SettingsError("GATE_MAX_WAIT_MINUTES must be 0..1440 minutes")
        return cls(
            mode=_choice(env, "GATE_MODE", (AUDIT, ENFORCE), AUDIT),
            max_wait_minutes=int(wait),
            on_timeout=_choice(env, "GATE_ON_TIMEOUT", (ALLOW, DENY), DENY),
            on_error=_choice(env, "GATE_ON_ERROR", (ALLOW, DENY), DENY),
            scanner=_choice(env, "SCANNER", (SYFT, QSCANNER), SYFT),
            breakglass_source=env.get("GATE_BREAKGLASS", "").strip(),
            code_buckets=_buckets(env.get("GATE_CODE_BUCKETS", "")),
        )


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = env.get(name, "").strip().lower() or default
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}")
    return value


def _buckets(value: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip() for n in value.split(",") if n.strip()))
    if not all(_BUCKET_RE.match(n) for n in names):
        raise SettingsError("GATE_CODE_BUCKETS must be comma-separated S3 bucket names")
    return names
