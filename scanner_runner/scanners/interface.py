"""The scanner interface: an archive goes in, findings (or an inventory) come out.

Implementations live one per module (`qscanner.py`, `syft.py`); `scanners.SCANNERS` maps names to
them. A scanner raises `ScannerError` for anything that is not a trustworthy result (fail closed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from scanner_runner.report import Finding

# Environment a scanner subprocess may inherit from ours; everything else is dropped.
PASSTHROUGH_ENV = (
    "PATH",
    "LANG",
    "LC_ALL",
    "TZ",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "https_proxy",
    "http_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)


@dataclass(frozen=True)
class QualysCredentials:
    """Qualys API credentials; never in argv, logs or reports (`repr` shows no values)."""

    access_token: str = field(default="", repr=False)
    client_id: str = field(default="", repr=False)
    client_secret: str = field(default="", repr=False)

    @property
    def present(self) -> bool:
        """True when a token or a complete OAuth client pair is set."""
        return bool(self.access_token or (self.client_id and self.client_secret))

    def as_env(self) -> dict[str, str]:
        """The variables QScanner reads its credentials from."""
        if self.client_id and self.client_secret:
            return {"QUALYS_CLIENT_ID": self.client_id, "QUALYS_CLIENT_SECRET": self.client_secret}
        if self.access_token:
            return {"QUALYS_ACCESS_TOKEN": self.access_token}
        return {}

    def secrets(self) -> tuple[str, ...]:
        """The secret values, for redaction."""
        return tuple(v for v in (self.access_token, self.client_secret) if v)


@dataclass(frozen=True)
class ScannerOptions:
    """What any scanner may need, resolved once at the edge (no env reads below this)."""

    qscanner_path: str = ""
    pod: str = ""
    gateway_url: str = ""
    credentials: QualysCredentials = field(default_factory=QualysCredentials)
    scan_types: tuple[str, ...] = ("pkg",)
    sbom: bool = False
    syft_path: str = ""
    base_env: Mapping[str, str] = field(default_factory=dict, repr=False)
    sleep: Callable[[float], None] | None = None
    monotonic: Callable[[], float] | None = None
    retry_delay: float = 10.0
    kill_grace: float = 30.0


DIRECTORY_FORMAT = "dir"  # ScanRequest.archive is an unpacked tree (a zip Lambda's), not a tar


@dataclass(frozen=True)
class ScanRequest:
    """One scan: the archive, where raw files go, scratch space, limits and policy tags."""

    archive: Path
    archive_format: str
    image_id: str
    output_dir: Path
    work_dir: Path
    timeout: float = 300.0
    policy_tags: tuple[str, ...] = ()
    manifest_digest: str = ""


@dataclass(frozen=True)
class ScanResult:
    """What a scanner established about the image."""

    name: str
    version: str
    mode: str
    findings: tuple[Finding, ...]
    image_id: str
    vulnerability_data: bool
    os: str = ""
    verdict: str = ""
    inventory_packages: int | None = None
    sbom: Path | None = None
    raw_files: tuple[Path, ...] = ()


class Scanner(Protocol):
    """A scanner implementation."""

    name: str

    def scan(self, request: ScanRequest) -> ScanResult:
        """Scan the archive; raise ScannerError unless the result is trustworthy."""
        ...


def child_env(base: Mapping[str, str], work_dir: Path, extra: Mapping[str, str]) -> dict[str, str]:
    """A minimal environment: allowed pass-through names, fresh HOME/TMPDIR, then `extra`."""
    env = {k: base[k] for k in PASSTHROUGH_ENV if k in base}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    home, tmp = work_dir / "home", work_dir / "tmp"
    home.mkdir(parents=True, exist_ok=True)
    tmp.mkdir(parents=True, exist_ok=True)
    env.update({"HOME": str(home), "TMPDIR": str(tmp)})
    env.update(extra)
    return env


def redact(text: str, secrets: tuple[str, ...]) -> str:
    """Replace every secret value in `text`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
