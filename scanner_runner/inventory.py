"""The package inventory a report lists when it has no vulnerability data (name, version, type,
where), read from the scanner's CycloneDX SBOM, and its `report.json` form."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from scanner_runner import schema

MAX_PACKAGES = 10_000  # a bound on report size; the SBOM in S3 keeps every package
_LOCATION_KEYS = ("syft:location:0:path", "location")


@dataclass(frozen=True)
class InventoryItem:
    """One installed package: `type` is its purl type (deb, npm, …), `location` where it is."""

    name: str
    version: str = ""
    type: str = ""
    location: str = ""


def from_sbom(sbom: Path | None) -> tuple[InventoryItem, ...]:
    """The packages of a CycloneDX SBOM, sorted by type then name; () when there is none."""
    items = [_item(c) for c in sbom_packages(sbom)]
    items.sort(key=lambda i: (i.type, i.name.lower(), i.version))
    return tuple(items[:MAX_PACKAGES])


def sbom_packages(sbom: Path | None) -> list[Mapping[str, Any]]:
    """The package components of a CycloneDX SBOM (not the OS itself); [] when it is missing or
    unreadable. The deny list and the report's package list both read the SBOM through here."""
    if sbom is None or not sbom.is_file():
        return []
    try:
        document = json.loads(sbom.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return []
    components = document.get("components", []) if isinstance(document, dict) else []
    return [c for c in components if _is_package(c)] if isinstance(components, list) else []


def to_list(items: tuple[InventoryItem, ...]) -> list[dict[str, str]]:
    """The `packages` list of report.json."""
    return [{"name": i.name, "version": i.version, "type": i.type, "location": i.location}
            for i in items]  # fmt: skip


def from_list(data: Any) -> tuple[InventoryItem, ...]:
    """Read the `packages` list back, every field type-checked (schema.SchemaError if not)."""
    if not isinstance(data, list):
        raise schema.SchemaError("packages is not a list")
    return tuple(schema.build(InventoryItem, d, f"packages[{n}]") for n, d in enumerate(data))


def _is_package(component: Any) -> bool:
    return (
        isinstance(component, Mapping)
        and component.get("type") != "operating-system"
        and isinstance(component.get("name"), str)
    )


def _item(component: Mapping[str, Any]) -> InventoryItem:
    purl = component.get("purl")
    kind = ""
    if isinstance(purl, str) and purl.startswith("pkg:"):
        kind = unquote(purl[4:].partition("/")[0]).lower()
    properties = component.get("properties", [])
    found = {
        p.get("name"): p.get("value")
        for p in (properties if isinstance(properties, list) else [])
        if isinstance(p, Mapping) and isinstance(p.get("value"), str)
    }
    location = next((found[k] for k in _LOCATION_KEYS if k in found), "")
    version = component.get("version")
    return InventoryItem(
        name=component["name"][:300],
        version=version[:200] if isinstance(version, str) else "",
        type=kind[:40],
        location=str(location)[:500],
    )
