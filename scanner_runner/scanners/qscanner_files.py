"""Parse QScanner's output files: `*-Report.sarif.json` (findings) and `*-ScanResult.json`.

Paths follow the Qualys reference: findings from SARIF results, severity from the result's
properties, then the rule's, then the level; package data from `vulnerableSoftware[]`; metadata,
image ID and secrets from ScanResult.json. Both `-` and `_` name separators are accepted.
Everything here is untrusted text: types are checked, lengths capped, secret matches dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanner_runner.errors import ScannerError
from scanner_runner.report import SEVERITIES, Finding, severity_from_qualys

_LEVEL_SEVERITY = {"error": 5, "warning": 3, "note": 2}
_NAMED = {name: 5 - i for i, name in enumerate(SEVERITIES)} | {"unknown": 1, "informational": 1}
_HEX_RE = re.compile(r"(?:sha256:)?([a-f0-9]{64})")
MAX_TEXT = 2000
MAX_FILE = 512 * 1024 * 1024


@dataclass(frozen=True)
class ScanMetadata:
    """What ScanResult.json says about the scan."""

    version: str
    os: str
    image_ids: tuple[str, ...]
    failed_scans: tuple[str, ...]
    secrets: tuple[Finding, ...]


def find_file(directory: Path, suffix: str) -> Path | None:
    """The newest `<id>-<suffix>` or `<id>_<suffix>` file in `directory`."""
    matches = [p for p in directory.glob(f"*?{suffix}") if p.name[: -len(suffix)][-1] in ("-", "_")]
    matches = [p for p in matches if p.is_file()]
    return max(matches, key=lambda p: (p.stat().st_mtime_ns, p.name)) if matches else None


def load_json(path: Path) -> Any:
    """Read a QScanner JSON file; ScannerError when unreadable."""
    try:
        if path.stat().st_size > MAX_FILE:
            raise ScannerError(f"{path.name} is larger than {MAX_FILE} bytes")
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScannerError(f"cannot parse QScanner file {path.name}: {exc}") from exc


def image_id_from_name(path: Path) -> str:
    """The image ID QScanner put in the file name prefix, or ''."""
    match = _HEX_RE.fullmatch(re.split(r"[-_]", path.name, maxsplit=1)[0])
    return "sha256:" + match.group(1) if match else ""


def normalise_image_id(value: object) -> str:
    """`sha256:<hex>` for any spelling of an image ID, else ''."""
    if not isinstance(value, str):
        return ""
    match = _HEX_RE.fullmatch(value.strip().lower())
    return "sha256:" + match.group(1) if match else ""


def parse_scan_result(document: Any) -> ScanMetadata:
    """Version, OS, image IDs, failed scan types and secret findings from ScanResult.json."""
    if not isinstance(document, dict):
        raise ScannerError("ScanResult.json is not a JSON object")
    metadata = _dict(document.get("Metadata"))
    target = _dict(metadata.get("TargetMetadata"))
    image = _dict(target.get("ImageMetadata"))
    ids = [normalise_image_id(image.get(k)) for k in ("ImageID", "ImageId", "ID")]
    os_value = target.get("OS")
    if isinstance(os_value, dict):
        os_text = " ".join(_text(os_value.get(k)) for k in ("Family", "Name", "Version")).strip()
    else:
        os_text = _text(os_value)
    failed = tuple(
        f"{_text(s.get('ScanType'))}={_text(s.get('Status'))}"
        for s in _list(document.get("ScansPerformed"))
        if isinstance(s, dict) and _text(s.get("Status")).upper() not in ("SUCCESS", "")
    )
    return ScanMetadata(
        version=_text(document.get("QScannerVersion")),
        os=os_text,
        image_ids=tuple(i for i in ids if i),
        failed_scans=failed,
        secrets=tuple(_secrets(document.get("SecretResults"))),
    )


def _secrets(results: object) -> Iterator[Finding]:
    for result in _list(results):
        if not isinstance(result, dict):
            continue
        target = _text(result.get("Target"))
        for secret in _list(result.get("Secrets")):
            if not isinstance(secret, dict):
                continue
            # `Match` holds the secret itself; it is deliberately never copied.
            line = secret.get("StartLine")
            where = f"{target}:{line}" if isinstance(line, int) else target
            yield Finding(
                id=_text(secret.get("RuleID")) or "secret",
                severity=_severity_name(secret.get("Severity")) or "high",
                title=_text(secret.get("Title")) or "secret found",
                package=where,
                layer=_text(_dict(secret.get("Layer")).get("DiffID")),
                kind="secret",
            )


def parse_sarif(document: Any) -> tuple[list[Finding], tuple[str, ...], str]:
    """Findings, image IDs named in the SARIF, and the OS it names (if any)."""
    if not isinstance(document, dict) or not isinstance(document.get("runs"), list):
        raise ScannerError("Report.sarif.json is not a SARIF log (no runs)")
    findings: list[Finding] = []
    ids: list[str] = []
    os_text = ""
    for run in document["runs"]:
        if not isinstance(run, dict):
            raise ScannerError("Report.sarif.json has a run that is not an object")
        props = _dict(run.get("properties"))
        ids += [normalise_image_id(props.get(k)) for k in ("imageID", "imageId")]
        for artifact in _list(run.get("artifacts"))[:1]:
            ids.append(normalise_image_id(_dict(_dict(artifact).get("properties")).get("imageID")))
        os_text = os_text or _text(props.get("os") or props.get("operatingSystem"))
        driver = _dict(_dict(run.get("tool")).get("driver"))
        rules = {_text(r.get("id")): r for r in _list(driver.get("rules")) if isinstance(r, dict)}
        results = run.get("results")
        if not isinstance(results, list):
            raise ScannerError("Report.sarif.json run has no results list")
        for result in results:
            if not isinstance(result, dict):
                raise ScannerError("Report.sarif.json has a result that is not an object")
            findings.extend(_result_findings(result, rules))
    return findings, tuple(i for i in ids if i), os_text


def _result_findings(result: Mapping[str, Any], rules: Mapping[str, Any]) -> Iterator[Finding]:
    props = _dict(result.get("properties"))
    rule_id = _text(result.get("ruleId"))
    rule = _dict(rules.get(rule_id))
    rule_props = _dict(rule.get("properties"))
    qid = _text(props.get("QID") or props.get("qid") or rule_id)
    if not qid:
        raise ScannerError("Report.sarif.json has a result without a QID or ruleId")
    severity = (
        _severity_name(props.get("severity"))
        or _severity_name(rule_props.get("severity"))
        or _severity_name(rule_props.get("customerSeverity"))
        or severity_from_qualys(_LEVEL_SEVERITY.get(_text(result.get("level")), 1))
    )
    cves = tuple(
        _text(c) for c in _list(rule_props.get("cve-ids") or props.get("cves")) if _text(c)
    )
    title = _text(_dict(rule.get("shortDescription")).get("text")) or _text(
        _dict(result.get("message")).get("text")
    )
    software = [s for s in _list(props.get("vulnerableSoftware")) if isinstance(s, dict)]
    if not software:
        software = [
            {
                "name": props.get("packageName"),
                "installedVersion": props.get("installedVersion"),
                "fixedVersion": props.get("fixedVersion"),
            }
        ]
    for item in software:
        yield Finding(
            id=qid,
            severity=severity,
            title=title,
            cves=cves,
            package=_text(item.get("name")),
            installed_version=_text(item.get("installedVersion")),
            fixed_version=_text(item.get("fixedVersion")),
            layer=_text(item.get("layerSHA")),
        )


def _severity_name(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | float):
        return severity_from_qualys(int(value)) if value >= 1 else ""
    text = str(value).strip().lower()
    if text.isdigit():
        return severity_from_qualys(int(text)) if int(text) >= 1 else ""
    level = _NAMED.get(text)
    return severity_from_qualys(level) if level else ""


def _text(value: object) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    return " ".join(str(value).split())[:MAX_TEXT]


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
