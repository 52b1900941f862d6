"""Writers: golden files per format (UPDATE_GOLDEN=1 rewrites them), mapping, escaping, re-load."""

from __future__ import annotations

import gc
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from scanner_runner import writers
from scanner_runner.errors import ReportError
from scanner_runner.report import Finding, ImageInfo, ScanReport, load, save
from scanner_runner.writers import asff, html, junit, markdown, sarif
from scanner_runner.writers import json as json_writer
from tests.runner.conftest import denied_inventory_report, error_policy, fixed_report

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {name}; run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs; UPDATE_GOLDEN=1 to accept"


def test_format_mapping_is_exhaustive() -> None:
    expected = {
        "json": ("report.json", json_writer.render),
        "junit": ("junit.xml", junit.render),
        "sarif": ("report.sarif.json", sarif.render),
        "html": ("report.html", html.render),
        "markdown": ("report.md", markdown.render),
        "asff": ("findings.asff.json", asff.render),
    }
    assert {k: (v.filename, v.render) for k, v in writers.FORMATS.items()} == expected
    assert all(name == fmt.name for name, fmt in writers.FORMATS.items())


@pytest.mark.parametrize("fmt", sorted(writers.FORMATS))
def test_golden(fmt: str) -> None:
    report = fixed_report()
    check_golden(writers.FORMATS[fmt].filename, writers.render(report, fmt))


@pytest.mark.parametrize("fmt", ["markdown", "junit", "html"])
def test_golden_error_report(fmt: str) -> None:
    report = fixed_report(
        status="error",
        findings=(),
        policy=error_policy(),
        vulnerability_data=False,
        error="qscanner failed with exit code 17 (OS not supported)",
    )
    check_golden("error-" + writers.FORMATS[fmt].filename, writers.render(report, fmt))


def inventory_report(**changes: Any) -> ScanReport:
    """A syft scan: no vulnerability data, three packages listed."""
    from scanner_runner.inventory import InventoryItem
    from scanner_runner.report import PolicyResult, ScannerInfo

    values: dict[str, Any] = {
        "status": "passed",
        "findings": (),
        "policy": PolicyResult("inventory-only", "inventory only: no vulnerability data"),
        "scanner": ScannerInfo("syft", "1.18.1", "inventory-only"),
        "vulnerability_data": False,
        "inventory_packages": 3,
        "packages": (
            InventoryItem("base-files", "12.4+deb12u5", "deb", "/var/lib/dpkg/status"),
            InventoryItem("openssl", "3.0.11-1~deb12u2", "deb", "/var/lib/dpkg/status"),
            InventoryItem("left-pad", "1.3.0", "npm", "/app/node_modules/left-pad/package.json"),
        ),
    }
    values.update(changes)
    return fixed_report(**values)


@pytest.mark.parametrize("fmt", ["markdown", "html", "junit"])
def test_golden_inventory_only_report(fmt: str) -> None:
    check_golden(
        "inventory-" + writers.FORMATS[fmt].filename, writers.render(inventory_report(), fmt)
    )


def test_inventory_only_never_looks_like_a_clean_scan() -> None:
    page = html.render(inventory_report())
    assert '<span class="verdict inventory">INVENTORY ONLY</span>' in page
    assert "verdict passed" not in page
    assert page.count(">n/a</td>") == 5
    assert "<td>left-pad</td><td>1.3.0</td><td>npm</td>" in page
    assert "| n/a | n/a | n/a | n/a | n/a |" in markdown.render(inventory_report())
    # the deny list can still fail an inventory: FAILED, and still marked inventory only
    failed = html.render(inventory_report(status="failed"))
    assert 'class="verdict failed">FAILED</span><span class="tag">INVENTORY ONLY</span>' in failed
    clean = html.render(fixed_report(findings=(), status="passed"))
    assert "n/a" not in clean and '<span class="verdict passed">PASSED</span>' in clean


def test_cves_are_linked_and_findings_sorted_by_severity_then_fix() -> None:
    page = html.render(fixed_report())
    assert (
        '<a href="https://nvd.nist.gov/vuln/detail/CVE-2024-0001" rel="noopener noreferrer">'
        "CVE-2024-0001</a>"
    ) in page
    assert "<th>Fix available</th>" in page
    nofix = Finding("1", "high", "t", ("CVE-2024-9",), "a", "1")
    fix = Finding("2", "high", "t", ("javascript:alert(1)",), "b", "1", "2")
    ordered = fixed_report(findings=(nofix, fix)).sorted_findings()
    assert [f.id for f in ordered] == ["2", "1"]
    assert 'href="javascript' not in html.render(fixed_report(findings=(nofix, fix)))


def test_packages_round_trip_through_report_json(tmp_path: Path) -> None:
    report = inventory_report()
    save(report, tmp_path / "report.json")
    assert load(tmp_path / "report.json") == report
    data = json.loads((tmp_path / "report.json").read_text())
    data["packages"] = [{"name": 3}]
    (tmp_path / "report.json").write_text(json.dumps(data))
    with pytest.raises(ReportError, match="packages"):
        load(tmp_path / "report.json")


def test_json_round_trips(tmp_path: Path) -> None:
    report = fixed_report()
    save(report, tmp_path / "report.json")
    assert load(tmp_path / "report.json") == report
    document = json.loads((tmp_path / "report.json").read_text())
    assert list(document)[:2] == ["schema_version", "image"]
    assert document["summary"] == {"critical": 2, "high": 1, "medium": 1, "low": 1, "info": 0}


def test_the_compute_tier_is_recorded_and_checked(tmp_path: Path) -> None:
    document = fixed_report().to_dict()
    assert document["trigger"]["compute_tier"] == "lambda"
    older = json.loads(json.dumps(document))
    del older["trigger"]["compute_tier"]  # written before there were tiers
    (tmp_path / "older.json").write_text(json.dumps(older))
    assert load(tmp_path / "older.json").trigger.compute_tier == ""
    document["trigger"]["compute_tier"] = "gpu"
    (tmp_path / "forged.json").write_text(json.dumps(document))
    with pytest.raises(ReportError, match="compute tier"):
        load(tmp_path / "forged.json")


def test_html_escapes_scanner_text_and_needs_no_network() -> None:
    page = html.render(fixed_report())
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "http://" not in page and "src=" not in page and "<link" not in page
    assert "accepted risk, ticket SEC-12" in page  # the ignored finding is listed with its reason


def test_inventory_only_is_labelled_everywhere() -> None:
    from datetime import date

    from scanner_runner.policy import Policy, evaluate

    _, decision, status = evaluate([], Policy(), today=date(2026, 1, 1), vulnerability_data=False)
    report = fixed_report(
        findings=(), policy=decision, status=status, vulnerability_data=False, inventory_packages=3
    )
    assert "inventory only" in markdown.render(report)
    assert "Inventory only: no vulnerability data" in html.render(report)
    assert "inventory only" in junit.render(report)
    assert json.loads(sarif.render(report))["runs"][0]["properties"]["vulnerabilityData"] is False


def test_junit_never_shows_an_inventory_only_scan_as_a_clean_pass() -> None:
    def verdict_and_counts(report: ScanReport) -> tuple[ET.Element, str]:
        root = ET.fromstring(junit.render(report))  # noqa: S314 (our own output)
        counts = root.find("testsuite/properties/property[@name='counts']")
        case = root.find("testsuite/testcase")
        assert counts is not None and case is not None
        return case, counts.get("value", "")

    case, counts = verdict_and_counts(inventory_report())
    assert case.get("name") == "Policy verdict: INVENTORY ONLY (no vulnerability data)"
    skipped = case.find("skipped")
    assert skipped is not None and skipped.get("message", "").startswith("INVENTORY ONLY: ")
    assert case.find("failure") is None and counts == "n/a (no vulnerability data)"
    # a deny-list match fails it (not skipped), still marked inventory only
    case, counts = verdict_and_counts(denied_inventory_report())
    assert case.get("name") == "Policy verdict: FAILED (INVENTORY ONLY: no vulnerability data)"
    assert case.find("failure") is not None and case.find("skipped") is None
    assert counts == "n/a (no vulnerability data)"
    error = fixed_report(status="error", findings=(), policy=error_policy(), error="pull failed")
    case, counts = verdict_and_counts(error)
    assert case.find("error") is not None and counts == "n/a (scan error)"
    case, counts = verdict_and_counts(fixed_report())
    assert case.find("skipped") is None and counts.startswith("critical=2, high=1,")


def test_sarif_structure() -> None:
    log = json.loads(sarif.render(fixed_report()))
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert len(rule_ids) == len(set(rule_ids))  # one rule per QID
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels["38001"] == "error" and levels["38003"] == "warning" and levels["38004"] == "note"
    for result in run["results"]:
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    suppressed = [r for r in run["results"] if "suppressions" in r]
    assert [r["ruleId"] for r in suppressed] == ["38005"]


def test_sarif_summary_is_null_not_zeros_without_vulnerability_data() -> None:
    def properties(report: ScanReport) -> dict[str, Any]:
        return dict(json.loads(sarif.render(report))["runs"][0]["properties"])

    inventory = properties(inventory_report())
    assert inventory["vulnerabilityData"] is False and inventory["summary"] is None
    assert inventory["summaryNote"] == "n/a (no vulnerability data)"
    (invocation,) = json.loads(sarif.render(inventory_report()))["runs"][0]["invocations"]
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "warning" and note["message"]["text"].startswith("INVENTORY ONLY")
    denied = properties(denied_inventory_report())  # its one critical is a denied package
    assert denied["summary"] is None and denied["status"] == "failed"
    error = fixed_report(status="error", findings=(), policy=error_policy(), error="pull failed")
    assert properties(error)["summary"] is None
    assert properties(error)["summaryNote"] == "n/a (scan error)"
    scanned = properties(fixed_report(findings=(), status="passed"))
    assert scanned["summary"] == dict.fromkeys(("critical", "high", "medium", "low", "info"), 0)
    assert "summaryNote" not in scanned


def test_junit_is_well_formed_despite_control_characters() -> None:
    root = ET.fromstring(junit.render(fixed_report()))  # noqa: S314 (our own output)
    names = [case.get("name") for case in root.iter("testcase")]
    assert names[0] == "Policy verdict: FAILED"
    assert "[LOW] 38004 CVE-2023-4444" in names


def test_markdown_cells_cannot_break_the_table() -> None:
    text = markdown.render(fixed_report())
    row = next(line for line in text.splitlines() if "38002" in line)
    assert row.count(" | ") == 7  # eight cells, the title's pipe is escaped
    assert "\\<script\\>" in row


def test_markdown_has_a_fix_available_column_and_na_counts_without_data() -> None:
    lines = markdown.render(fixed_report()).splitlines()
    head = lines.index(
        "| Severity | QID | CVEs | Package | Installed | Fix available | Fixed in | Title |"
    )
    rows = [line.split(" | ")[:7] for line in lines[head + 2 :] if line.startswith("| ")]
    assert [(r[1], r[5], r[6]) for r in rows[:2]] == [
        ("38001", "yes", "3.0.13-1~deb12u1"),  # critical with a fix before critical without
        ("aws-access-key-id", "no", "—"),
    ]
    denied = markdown.render(denied_inventory_report())
    assert "— FAILED (INVENTORY ONLY: no vulnerability data)" in denied
    assert "| n/a | n/a | n/a | n/a | n/a |" in denied and "xz-utils | 5.6.0 | no | — |" in denied


def test_markdown_carries_no_control_characters_from_scanner_text() -> None:
    hostile = Finding(
        "38009",
        "high",
        "NUL\x00 and ESC\x1b[2J\x1b]0;owned\x07 title\x7f\x9b",
        ("CVE-2024-9\x00",),
        "pkg\x1b[31m",
        "1.0\x00",
    )
    report = fixed_report(findings=(hostile,), error="scanner said \x1b[31mno\x00")
    text = markdown.render(report)
    assert not [c for c in text if not c.isprintable() and c != "\n"]
    row = next(line for line in text.splitlines() if "38009" in line)
    assert "NUL and ESC\\[2J\\]0;owned title" in row and "pkg\\[31m" in row


def test_write_all_writes_every_format_atomically(tmp_path: Path) -> None:
    paths = writers.write_all(fixed_report(), tmp_path)
    assert sorted(p.name for p in paths) == sorted(f.filename for f in writers.FORMATS.values())
    assert not list(tmp_path.glob(".*"))  # no temp files left behind


def test_report_from_archive_without_registry_renders() -> None:
    report = fixed_report(image=ImageInfo(ref="archive:app.tar", repository="archive/app"))
    for fmt in writers.FORMATS:
        assert writers.render(report, fmt)
    assert isinstance(report, ScanReport)


def test_writers_run_without_the_cyclic_collector_and_restore_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []

    def spy(report: ScanReport) -> str:
        seen.append(gc.isenabled())
        return "x"

    spied = {"spy": writers.OutputFormat("spy", "spy.txt", "text/plain", spy)}
    monkeypatch.setattr(writers, "FORMATS", spied)
    assert gc.isenabled()
    writers.render(fixed_report(), "spy")
    writers.write_all(fixed_report(), tmp_path)
    assert seen == [False, False]
    assert gc.isenabled()
    gc.disable()  # a caller that paused it itself keeps it paused
    try:
        writers.render(fixed_report(), "spy")
        assert not gc.isenabled()
    finally:
        gc.enable()

    def broken(report: ScanReport) -> str:
        raise ValueError("writer bug")

    spied["spy"] = writers.OutputFormat("spy", "spy.txt", "text/plain", broken)
    with pytest.raises(ValueError, match="writer bug"):
        writers.render(fixed_report(), "spy")
    assert gc.isenabled()


def test_findings_are_sorted_once_per_report() -> None:
    report = fixed_report()
    assert report.sorted_findings() is report.sorted_findings()
    later = report.with_(findings=report.findings[:1])
    assert later.sorted_findings() == report.findings[:1]
