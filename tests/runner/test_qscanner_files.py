"""Parsing QScanner files from hand-written documents: shapes, fallbacks and hostile input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scanner_runner.errors import ScannerError
from scanner_runner.scanners.qscanner_files import (
    find_file,
    image_id_from_name,
    parse_sarif,
    parse_scan_result,
)

IMAGE_HEX = "a" * 64


def sarif(
    results: list[dict[str, Any]], rules: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"rules": rules or []}}, "results": results}],
    }


def test_severity_prefers_result_then_rule_then_customer_severity_then_level() -> None:
    rules = [
        {"id": "1", "properties": {"severity": 2}},
        {"id": "2", "properties": {"customerSeverity": "4"}},
        {"id": "3", "properties": {}},
    ]
    results: list[dict[str, Any]] = [
        {"ruleId": "1", "level": "note", "properties": {"severity": 5}},
        {"ruleId": "1", "level": "error"},
        {"ruleId": "2", "level": "note"},
        {"ruleId": "3", "level": "warning"},
        {"ruleId": "3", "level": "none"},
    ]
    findings, _, _ = parse_sarif(sarif(results, rules))
    assert [f.severity for f in findings] == ["critical", "low", "high", "medium", "info"]


def test_flat_property_shape_is_a_fallback() -> None:
    result = {
        "ruleId": "77",
        "level": "error",
        "properties": {
            "qid": 77,
            "cves": ["CVE-2020-1"],
            "packageName": "bash",
            "installedVersion": "5.1",
            "fixedVersion": "5.2",
            "severity": "High",
        },
    }
    (finding,) = parse_sarif(sarif([result]))[0]
    assert (finding.id, finding.package, finding.installed_version, finding.fixed_version) == (
        "77",
        "bash",
        "5.1",
        "5.2",
    )
    assert finding.severity == "high" and finding.cves == ("CVE-2020-1",)


def test_image_ids_and_os_are_read_from_run_properties_and_artifacts() -> None:
    document = sarif([])
    document["runs"][0]["properties"] = {"imageId": IMAGE_HEX, "operatingSystem": "Alpine 3.20"}
    document["runs"][0]["artifacts"] = [{"properties": {"imageID": "sha256:" + "b" * 64}}]
    _, ids, os_text = parse_sarif(document)
    assert ids == ("sha256:" + IMAGE_HEX, "sha256:" + "b" * 64)
    assert os_text == "Alpine 3.20"


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"runs": "x"},
        {"runs": [1]},
        {"runs": [{"results": None}]},
        {"runs": [{"results": [5]}]},
        {"runs": [{"results": [{"level": "error"}]}]},
    ],
)
def test_malformed_sarif_is_an_error(document: Any) -> None:
    with pytest.raises(ScannerError):
        parse_sarif(document)


def test_hostile_text_is_flattened_and_capped() -> None:
    rules = [{"id": "9", "shortDescription": {"text": "line1\nline2\t" + "x" * 5000}}]
    (finding,) = parse_sarif(sarif([{"ruleId": "9", "level": "error"}], rules))[0]
    assert "\n" not in finding.title and len(finding.title) == 2000


def test_scan_result_metadata_failed_scans_and_secrets() -> None:
    document = {
        "QScannerVersion": "4.8.0-2",
        "ScansPerformed": [
            {"ScanType": "os", "Status": "SUCCESS"},
            {"ScanType": "sca", "Status": "FAILED"},
        ],
        "Metadata": {
            "TargetMetadata": {
                "OS": {"Name": "debian", "Version": "12"},
                "ImageMetadata": {"ImageID": "sha256:" + IMAGE_HEX},
            }
        },
        "SecretResults": [
            {
                "Target": "/x",
                "Secrets": [
                    {
                        "RuleID": "gh-pat",
                        "Severity": "HIGH",
                        "Title": "GitHub token",
                        "Match": "ghp_s3cr3t",
                    }
                ],
            }
        ],
    }
    meta = parse_scan_result(document)
    assert meta.version == "4.8.0-2" and meta.os == "debian 12"
    assert meta.image_ids == ("sha256:" + IMAGE_HEX,)
    assert meta.failed_scans == ("sca=FAILED",)
    (secret,) = meta.secrets
    assert secret.kind == "secret" and secret.severity == "high"
    assert "ghp_s3cr3t" not in repr(secret)


def test_file_lookup_accepts_both_separators_and_reads_the_id(tmp_path: Path) -> None:
    (tmp_path / f"{IMAGE_HEX}_ScanResult.json").write_text("{}")
    (tmp_path / "notes-about-ScanResult.json.txt").write_text("")
    found = find_file(tmp_path, "ScanResult.json")
    assert found is not None and image_id_from_name(found) == "sha256:" + IMAGE_HEX
    assert find_file(tmp_path, "Report.sarif.json") is None


def test_file_lookup_needs_a_prefix_before_the_separator(tmp_path: Path) -> None:
    (tmp_path / "ScanResult.json").write_text("{}")
    assert find_file(tmp_path, "ScanResult.json") is None
    (tmp_path / f"{IMAGE_HEX}-ScanResult.json").write_text("{}")
    assert find_file(tmp_path, "ScanResult.json") == tmp_path / f"{IMAGE_HEX}-ScanResult.json"
