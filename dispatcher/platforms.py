"""Platforms (`os/arch[/variant]`): the one parser, and what AWS resources say about theirs.

ECS task definitions say `runtimePlatform` (`LINUX`/`X86_64`), Lambda says `architectures`
(`arm64`), image configs and index entries say `os`/`architecture`/`variant`; all become one
lower-case `os/arch[/variant]` text, the grammar of the `IMAGE_PLATFORM` build variable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dispatcher.errors import PlatformError

PLATFORM_RE = re.compile(r"^[a-z0-9]{1,32}/[a-z0-9_]{1,32}(?:/[a-z0-9]{1,32})?$")
DEFAULT_PLATFORM = "linux/amd64"
# What container runtimes assume when an entry names no variant.
_DEFAULT_VARIANT = {"arm64": "v8", "arm": "v7"}
_LAMBDA_ARCHITECTURES = {"x86_64": "linux/amd64", "arm64": "linux/arm64"}
_ECS_CPU = {"X86_64": "amd64", "ARM64": "arm64"}


@dataclass(frozen=True)
class Platform:
    """`os/arch[/variant]` with the variant normalised the way container runtimes match it."""

    os: str
    architecture: str
    variant: str | None = None

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse `linux/amd64`, `linux/arm64/v8`, …; `PlatformError` otherwise."""
        lowered = text.strip().lower()
        if not PLATFORM_RE.match(lowered):
            raise PlatformError(f"platform must be os/arch[/variant], got {text[:80]!r}")
        parts = lowered.split("/")
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else None)

    @classmethod
    def of(cls, spec: object) -> Platform | None:
        """The platform an image config or an index entry's `platform` states, if well formed."""
        if not isinstance(spec, Mapping):
            return None
        os_name, arch, variant = (spec.get(k) for k in ("os", "architecture", "variant"))
        if not isinstance(os_name, str) or not isinstance(arch, str):
            return None
        text = f"{os_name}/{arch}" + (f"/{variant}" if isinstance(variant, str) and variant else "")
        try:
            return cls.parse(text)
        except PlatformError:
            return None

    @property
    def normalized_variant(self) -> str:
        """The variant, with the architecture's default filled in (arm64 -> v8)."""
        return self.variant or _DEFAULT_VARIANT.get(self.architecture, "")

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text


def platform_text(spec: object) -> str:
    """`os/arch[/variant]` of an image config or index entry, or "" when it does not say."""
    platform = Platform.of(spec)
    return str(platform) if platform else ""


def from_task_definition(definition: object) -> str | None:
    """`os/arch` from an ECS task definition's `runtimePlatform`, when it says."""
    platform = definition.get("runtimePlatform") if isinstance(definition, Mapping) else None
    if not isinstance(platform, Mapping):
        return None
    family, cpu = platform.get("operatingSystemFamily"), platform.get("cpuArchitecture")
    if not isinstance(cpu, str) or cpu not in _ECS_CPU:
        return None
    windows = isinstance(family, str) and family.startswith("WINDOWS")
    return f"{'windows' if windows else 'linux'}/{_ECS_CPU[cpu]}"


def from_lambda_architectures(architectures: list[Any]) -> str | None:
    """`os/arch` from a Lambda function's `architectures` (its first entry), when it says."""
    first = architectures[0] if architectures else None
    return _LAMBDA_ARCHITECTURES.get(first) if isinstance(first, str) else None
