"""The sweep's settings: which accounts and regions, how often running digests are re-scanned.

Read once at the edges with the dispatcher's other settings (`Settings.sweep`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dispatcher.buildvars import ACCOUNT_RE, REGION_RE
from dispatcher.errors import SettingsError

DEFAULT_RESCAN_AFTER_HOURS = 168
# An in-use item outlives its last sighting this long: three missed daily sweeps, so one failed
# sweep never makes a running digest vanish from the index.
DEFAULT_IN_USE_HOURS = 72
DEFAULT_REPORT_PREFIX = "deployscan"


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p.strip() for p in (value or "").split(",") if p.strip()))


def _hours(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise SettingsError(f"{name} must be a positive whole number of hours, not {raw[:40]!r}")
    return int(raw)


@dataclass(frozen=True)
class SweepSettings:
    """Scope and timing of the sweep; `accounts` are the member accounts (home is implied)."""

    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()  # empty: the dispatcher's own region
    rescan_after_hours: int = DEFAULT_RESCAN_AFTER_HOURS
    in_use_hours: int = DEFAULT_IN_USE_HOURS
    queue_url: str | None = None  # where unit and image messages go (the event queue)
    report_bucket: str = ""  # where the posture page goes; empty: not written
    report_prefix: str = DEFAULT_REPORT_PREFIX

    @property
    def rescan_after_seconds(self) -> int:
        """How old a running digest's last scan may be before the sweep scans it again."""
        return self.rescan_after_hours * 3600

    @property
    def in_use_seconds(self) -> int:
        """How long an in-use item outlives the last sweep that saw it."""
        return self.in_use_hours * 3600

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SweepSettings:
        """Read SWEEP_ACCOUNTS, SWEEP_REGIONS, RESCAN_AFTER_HOURS, IN_USE_HOURS, EVENT_QUEUE_URL,
        REPORT_BUCKET, REPORT_PREFIX; `SettingsError` for a malformed value."""
        accounts, regions = _csv(env.get("SWEEP_ACCOUNTS")), _csv(env.get("SWEEP_REGIONS"))
        for account in accounts:
            if not ACCOUNT_RE.match(account):
                raise SettingsError(f"SWEEP_ACCOUNTS: not an account id: {account[:40]!r}")
        for region in regions:
            if not REGION_RE.match(region):
                raise SettingsError(f"SWEEP_REGIONS: not a region: {region[:40]!r}")
        return cls(
            accounts=accounts,
            regions=regions,
            rescan_after_hours=_hours(env, "RESCAN_AFTER_HOURS", DEFAULT_RESCAN_AFTER_HOURS),
            in_use_hours=_hours(env, "IN_USE_HOURS", DEFAULT_IN_USE_HOURS),
            queue_url=env.get("EVENT_QUEUE_URL", "").strip() or None,
            report_bucket=env.get("REPORT_BUCKET", "").strip(),
            report_prefix=env.get("REPORT_PREFIX", "").strip().strip("/") or DEFAULT_REPORT_PREFIX,
        )
