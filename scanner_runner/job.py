"""What one scan is asked to do (`ScanJob`) and what it runs with (`Runtime`).

The CLI builds both at the edge from options, build variables and settings: values are parsed
and validated there (the image is an `ImageRef` from then on), so the pipeline below never reads
the environment and never parses a string twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dispatcher.imageref import ImageRef
from dispatcher.scancache import cache_key, code_key, digest_key
from scanner_runner.lambdazip import CodeRequest
from scanner_runner.policy import Policy
from scanner_runner.publish import Clients, Targets
from scanner_runner.report import TriggerInfo
from scanner_runner.scanners.interface import ScannerOptions
from scanner_runner.scanners.layers import DEFAULT_MAX_UNPACKED_BYTES


@dataclass(frozen=True)
class ScanJob:
    """What to scan and why (from the CLI options / build variables)."""

    output_dir: Path
    image: ImageRef | None = None
    archive: Path | None = None
    digest: str = ""  # IMAGE_DIGEST: what the dispatcher resolved (validated at the edge)
    platform: str = ""
    trigger: TriggerInfo = field(default_factory=TriggerInfo)
    build_id: str = ""
    scanner: str = ""
    policy: Policy = field(default_factory=Policy)
    timeout: float = 300.0
    creds: str = field(default="", repr=False)
    registry_credentials_arn: str = ""
    pull_role_arn: str = ""
    insecure_registries: tuple[str, ...] = ()
    docker_config: Path | None = None
    work_dir: Path | None = None
    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES  # what the layers may unpack to
    code: CodeRequest | None = None  # a zip function or layer version instead of an image

    @property
    def wanted_digest(self) -> str:
        """The digest this job must scan, when it names one (IMAGE_DIGEST or the reference's)."""
        return self.digest or (self.image.digest if self.image and self.image.digest else "")

    def cache_keys(self, scanned_digest: str) -> list[str]:
        """The scan-cache items a verdict goes to: the scanned digest's, plus the `ref#` lease
        the dispatcher took when it could not resolve the digest. Zip code: `scanned_digest` is
        the scanned code's CodeSha256, and CODE_SHA256's item (the dispatcher's lease) too."""
        if self.code is not None:
            hashes = dict.fromkeys(h for h in (self.code.code_sha256, scanned_digest) if h)
            return [code_key(h) for h in hashes]
        keys = [digest_key(scanned_digest)] if scanned_digest else []
        if self.image is not None and not self.wanted_digest:
            keys.append(cache_key(self.image))
        return keys


@dataclass(frozen=True)
class Runtime:
    """Injected collaborators."""

    options: ScannerOptions
    targets: Targets = field(default_factory=Targets)
    clients: Clients | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    pull: Callable[..., Any] | None = None
    boto3_session: Any = None
    secrets: tuple[str, ...] = ()
