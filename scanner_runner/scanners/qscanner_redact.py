"""Take the secret values QScanner's secret scan matched out of every raw file it leaves.

`ScanResult.json` holds each match in `SecretResults[].Secrets[].Match`, and the raw files are kept
as build artifacts and published to S3. So before any is kept, each `Match` is replaced there (the
file is rewritten through a temp file and a rename), and each matched value is replaced wherever
else it appears in the raw files, in plain and JSON-escaped spellings. What cannot be checked (an
unreadable ScanResult.json, a file over the size limit) is removed, not kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from scanner_runner.report import write_atomic
from scanner_runner.scanners.qscanner_files import MAX_FILE

REDACTED = "[redacted]"
# Shorter matches are replaced only in their own field: replacing a few common characters
# everywhere would wreck the files and hide nothing worth hiding.
MIN_TEXT_MATCH = 6


def redact_secret_matches(raw_dir: Path) -> tuple[str, ...]:
    """Redact matched secret values in every file under `raw_dir`; the names of files removed
    because they could not be checked (the caller fails the scan when there are any)."""
    if not raw_dir.is_dir():
        return ()
    removed: list[str] = []
    matches: set[str] = set()
    for path in sorted(raw_dir.glob("*ScanResult.json")):
        found = _redact_scan_result(path)
        if found is None:
            path.unlink(missing_ok=True)
            removed.append(path.name)
        else:
            matches.update(found)
    needles = _needles(m for m in matches if len(m) >= MIN_TEXT_MATCH)
    for path in sorted(p for p in raw_dir.rglob("*") if p.is_file() and not p.is_symlink()):
        if path.stat().st_size > MAX_FILE:
            path.unlink()
            removed.append(path.name)
        elif needles:
            _replace_in_file(path, needles)
    return tuple(removed)


def _redact_scan_result(path: Path) -> set[str] | None:
    """The values matched in one ScanResult.json, rewritten without them; None if unreadable."""
    try:
        if path.stat().st_size > MAX_FILE:
            return None
        document = json.loads(path.read_bytes())
    except (OSError, ValueError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None
    matches: set[str] = set()
    changed = False
    for secret in _secret_entries(document):
        value = secret.get("Match")
        if value is not None and value != REDACTED:
            if isinstance(value, str):
                matches.add(value)
            secret["Match"] = REDACTED
            changed = True
    if changed:
        write_atomic(path, json.dumps(document, indent=1).encode("utf-8"))
    return matches


def _secret_entries(document: Any) -> Iterator[dict[str, Any]]:
    results = document.get("SecretResults") if isinstance(document, dict) else None
    for result in results if isinstance(results, list) else []:
        secrets = result.get("Secrets") if isinstance(result, dict) else None
        for secret in secrets if isinstance(secrets, list) else []:
            if isinstance(secret, dict):
                yield secret


def _needles(matches: Iterable[str]) -> tuple[bytes, ...]:
    """Each value as raw UTF-8 and as JSON writes it: Python's escaping and Go's HTML-safe one."""
    found: set[bytes] = set()
    for match in matches:
        escaped = json.dumps(match)[1:-1]
        go_escaped = json.dumps(match, ensure_ascii=False)[1:-1]
        for char, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
            go_escaped = go_escaped.replace(char, code)
        for form in (match, escaped, go_escaped):
            found.add(form.encode("utf-8"))
    # Longest first, so a value is never half-replaced through a shorter one it contains.
    return tuple(sorted(found, key=len, reverse=True))


def _replace_in_file(path: Path, needles: tuple[bytes, ...]) -> None:
    data = path.read_bytes()
    cleaned = data
    for needle in needles:
        cleaned = cleaned.replace(needle, REDACTED.encode())
    if cleaned != data:
        write_atomic(path, cleaned)
