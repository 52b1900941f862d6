"""Matched secret values leave every raw QScanner file before it is kept or published."""

from __future__ import annotations

import json
from pathlib import Path

from scanner_runner.scanners.qscanner_redact import REDACTED, redact_secret_matches

IMAGE = "ab" * 32
# A value JSON escapes (quote, backslash) and Go's encoder escapes further (`&`, `<`).
HOSTILE = 'pa"ss\\wo&rd<1>'
TOKEN = "ghp_" + "Z" * 36


def scan_result(*matches: object) -> dict[str, object]:
    secrets = [
        {"RuleID": f"rule-{n}", "Severity": "HIGH", "StartLine": n, "Match": match}
        for n, match in enumerate(matches)
    ]
    return {
        "QScannerVersion": "4.8.0-2",
        "SecretResults": [{"Target": "/app/.env", "Secrets": secrets}],
    }


def test_matches_are_replaced_in_scan_result_and_everywhere_else(tmp_path: Path) -> None:
    (tmp_path / f"{IMAGE}-ScanResult.json").write_text(json.dumps(scan_result(TOKEN, HOSTILE)))
    go_escaped = json.dumps(HOSTILE)[1:-1].replace("&", "\\u0026").replace("<", "\\u003c")
    go_escaped = go_escaped.replace(">", "\\u003e")
    (tmp_path / f"{IMAGE}-Report.json").write_text(f'{{"detail": "{go_escaped}"}}')
    (tmp_path / "console.log").write_text(f"found {TOKEN} and {HOSTILE}\n")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "extra.txt").write_bytes(TOKEN.encode() + b"\x00binary")

    assert redact_secret_matches(tmp_path) == ()

    document = json.loads((tmp_path / f"{IMAGE}-ScanResult.json").read_text())
    secrets = document["SecretResults"][0]["Secrets"]
    assert [s["Match"] for s in secrets] == [REDACTED, REDACTED]
    assert [s["RuleID"] for s in secrets] == ["rule-0", "rule-1"]  # the rest is kept
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert TOKEN.encode() not in data and b"ss\\\\wo" not in data, path.name
            assert b"wo&rd" not in data and b"wo\\u0026rd" not in data, path.name
    assert (tmp_path / "console.log").read_text() == f"found {REDACTED} and {REDACTED}\n"
    assert not list(tmp_path.glob(".*"))  # temp files were renamed into place


def test_a_short_match_is_replaced_only_in_its_own_field(tmp_path: Path) -> None:
    (tmp_path / f"{IMAGE}-ScanResult.json").write_text(json.dumps(scan_result("abc")))
    (tmp_path / "console.log").write_text("abc abc\n")
    assert redact_secret_matches(tmp_path) == ()
    assert "abc" not in (tmp_path / f"{IMAGE}-ScanResult.json").read_text()
    assert (tmp_path / "console.log").read_text() == "abc abc\n"


def test_what_cannot_be_checked_is_removed(tmp_path: Path) -> None:
    half = json.dumps(scan_result(TOKEN))[:60]
    (tmp_path / f"{IMAGE}_ScanResult.json").write_text(half)
    (tmp_path / "console.log").write_text("ok\n")
    assert redact_secret_matches(tmp_path) == (f"{IMAGE}_ScanResult.json",)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["console.log"]


def test_files_without_secret_results_are_left_alone(tmp_path: Path) -> None:
    text = json.dumps({"QScannerVersion": "4.8.0-2", "OSResults": []}, indent=4)
    (tmp_path / f"{IMAGE}-ScanResult.json").write_text(text)
    assert redact_secret_matches(tmp_path) == ()
    assert (tmp_path / f"{IMAGE}-ScanResult.json").read_text() == text
    assert redact_secret_matches(tmp_path / "missing") == ()
