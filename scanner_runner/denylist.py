"""The package deny-list: known compromised releases, matched on a scan's inventory.

A match is a `denied-package` finding that fails the policy even without vulnerability data.
The shipped list is `data/denylist.json`; a user's list (same format) is added to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from scanner_runner.errors import PolicyError
from scanner_runner.inventory import sbom_packages
from scanner_runner.listfile import list_items
from scanner_runner.report import Finding

KIND_DENIED = "denied-package"
# Ecosystems whose versions carry a distribution revision (`5.6.1-1`, `5.6.1-r0`) and an epoch;
# "" (an SBOM component without a purl) is read alike, as a deny list errs towards matching.
_OS_ECOSYSTEMS = frozenset({"deb", "rpm", "apk", "alpm", ""})
_NAME_RE = re.compile(r"^[A-Za-z0-9@][A-Za-z0-9@._+/-]{0,213}$")
_ECOSYSTEM_RE = re.compile(r"^(?:\*|[a-z][a-z0-9.+-]{0,31})$")


@dataclass(frozen=True)
class Package:
    """One installed package of an inventory; `ecosystem` is its purl type (deb, npm, …)."""

    name: str
    version: str
    ecosystem: str = ""


@dataclass(frozen=True)
class DenyEntry:
    """Versions of one package (in one ecosystem, or `*` for any) that must not ship."""

    name: str
    ecosystem: str
    versions: tuple[str, ...]
    reason: str
    reference: str

    def matches(self, package: Package) -> bool:
        """True when `package` is one of the denied versions (OS revisions and epochs aside)."""
        if package.name != self.name or self.ecosystem not in ("*", package.ecosystem):
            return False
        return package.version in self.versions or _upstream(package) in self.versions


def parse_deny_list(text: str, source: str = "deny list") -> tuple[DenyEntry, ...]:
    """Parse `{"deny": [{"name", "ecosystem", "versions", "reason", "reference"}]}`."""
    items = list_items(text, source, "deny")
    return tuple(_entry(item, f"{source}: entry {index}") for index, item in enumerate(items))


def _entry(item: Any, where: str) -> DenyEntry:
    if not isinstance(item, dict):
        raise PolicyError(f"{where} is not an object")
    try:
        name, versions, reason, reference = (
            item[k] for k in ("name", "versions", "reason", "reference")
        )
    except KeyError as exc:
        raise PolicyError(f"{where} lacks {exc.args[0]!r}") from exc
    ecosystem = item.get("ecosystem", "*")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise PolicyError(f"{where} has no valid package name")
    if not isinstance(ecosystem, str) or not _ECOSYSTEM_RE.match(ecosystem):
        raise PolicyError(f"{where} ecosystem must be a purl type (deb, npm, …) or '*'")
    if (
        not isinstance(versions, list)
        or not versions
        or not all(isinstance(v, str) and v.strip() for v in versions)
    ):
        raise PolicyError(f"{where} versions must be a non-empty list of strings")
    if not isinstance(reason, str) or not reason.strip():
        raise PolicyError(f"{where} needs a non-empty reason")
    if not isinstance(reference, str) or not reference.startswith(("https://", "http://")):
        raise PolicyError(f"{where} reference must be an http(s) URL")
    return DenyEntry(name, ecosystem, tuple(v.strip() for v in versions), reason.strip(), reference)


def default_entries() -> tuple[DenyEntry, ...]:
    """The shipped list of publicly known compromised releases."""
    text = resources.files("scanner_runner").joinpath("data/denylist.json").read_text("utf-8")
    return parse_deny_list(text, "shipped deny list")


def match(packages: Iterable[Package], entries: Iterable[DenyEntry]) -> tuple[Finding, ...]:
    """One critical `denied-package` finding per package that a deny entry names."""
    entries = tuple(entries)
    findings: dict[str, Finding] = {}
    for package in packages:
        for entry in entries:
            if entry.matches(package):
                finding_id = f"DENY-{package.name}-{package.version}"
                findings.setdefault(
                    finding_id,
                    Finding(
                        id=finding_id,
                        severity="critical",
                        title=f"denied package: {entry.reason} ({entry.reference})",
                        package=package.name,
                        installed_version=package.version,
                        kind=KIND_DENIED,
                    ),
                )
                break
    return tuple(findings.values())


def inventory(sbom: Path | None) -> tuple[Package, ...]:
    """The packages of a CycloneDX SBOM (ecosystem from each purl); () when there is none."""
    return tuple(_package(c) for c in sbom_packages(sbom) if isinstance(c.get("version"), str))


def _package(component: Mapping[str, Any]) -> Package:
    purl = component.get("purl")
    ecosystem = ""
    if isinstance(purl, str) and purl.startswith("pkg:"):
        ecosystem = unquote(purl[4:].partition("/")[0]).lower()
    return Package(component["name"], component["version"], ecosystem)


def _upstream(package: Package) -> str:
    """`1:5.6.1-1` -> `5.6.1` for OS packages; other ecosystems' versions are compared whole."""
    if package.ecosystem not in _OS_ECOSYSTEMS:
        return package.version
    return package.version.rpartition(":")[2].partition("-")[0]
