"""The package deny-list: its format, the shipped entries, matching, and the policy's decision."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from scanner_runner.denylist import (
    KIND_DENIED,
    DenyEntry,
    Package,
    default_entries,
    inventory,
    match,
    parse_deny_list,
)
from scanner_runner.errors import PolicyError
from scanner_runner.policy import (
    DECISION_FAIL,
    DECISION_NOT_EVALUATED,
    DECISION_PASS,
    IgnoreEntry,
    Policy,
    evaluate,
)
from scanner_runner.report import Finding

TODAY = date(2026, 3, 1)
XZ = Package("xz-utils", "5.6.1-1", "deb")


def test_every_shipped_entry_has_a_public_reference_and_a_reason() -> None:
    entries = default_entries()
    assert entries
    for entry in entries:
        assert entry.reference.startswith("https://"), entry
        assert entry.reason and entry.versions
    names = {e.name for e in entries}
    assert {"xz-utils", "liblzma5", "xz", "xz-libs", "event-stream", "ua-parser-js"} <= names


@pytest.mark.parametrize(
    ("package", "denied"),
    [
        (XZ, True),
        (Package("xz-utils", "5.6.1", "deb"), True),
        (Package("liblzma5", "5.6.0-0.2", "deb"), True),
        (Package("xz-libs", "1:5.6.0-1.fc40", "rpm"), True),
        (Package("xz", "5.6.1-r1", "apk"), True),
        (Package("xz-utils", "5.4.1-0.2", "deb"), False),
        (Package("xz-utils", "5.6.1+really5.4.5-1", "deb"), False),
        (Package("event-stream", "3.3.6", "npm"), True),
        (Package("event-stream", "3.3.6", "pypi"), False),
        (Package("ua-parser-js", "1.0.0-beta", "npm"), False),  # npm versions compare whole
        (Package("openssl", "5.6.1", "deb"), False),
        (Package("xz-utils", "5.6.1-1", ""), True),  # no purl: only `*` entries, read as OS
        (Package("ua-parser-js", "1.0.0", ""), False),
    ],
)
def test_shipped_list_matches_only_the_compromised_versions(package: Package, denied: bool) -> None:
    assert bool(match([package], default_entries())) is denied


def test_a_match_is_a_critical_finding_with_reason_and_reference() -> None:
    (finding,) = match([XZ, XZ], default_entries())
    assert finding.id == "DENY-xz-utils-5.6.1-1"
    assert finding.kind == KIND_DENIED and finding.severity == "critical"
    assert "CVE-2024-3094" in finding.title
    assert "https://nvd.nist.gov/vuln/detail/CVE-2024-3094" in finding.title
    assert finding.package == "xz-utils" and finding.installed_version == "5.6.1-1"
    assert finding.cves == ()  # so an ignore entry for the CVE cannot hide it


def test_user_list_parses_with_any_ecosystem_by_default() -> None:
    text = '{"deny": [{"name": "left-pad", "versions": ["1.3.0"], "reason": "r", '
    text += '"reference": "https://example.com/x"}]}'
    (entry,) = parse_deny_list(text)
    assert entry == DenyEntry("left-pad", "*", ("1.3.0",), "r", "https://example.com/x")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not JSON"),
        ('{"deny": {}}', "expected"),
        ("[1]", "entry 0 is not an object"),
        ('[{"name": "a", "versions": ["1"], "reason": "r"}]', "lacks 'reference'"),
        ('[{"name": "a", "versions": [], "reason": "r", "reference": "https://x"}]', "versions"),
        ('[{"name": "a", "versions": ["1"], "reason": " ", "reference": "https://x"}]', "reason"),
        ('[{"name": "a", "versions": ["1"], "reason": "r", "reference": "x"}]', "URL"),
        ('[{"name": "a b", "versions": ["1"], "reason": "r", "reference": "https://x"}]', "name"),
        (
            '[{"name": "a", "ecosystem": "D B", "versions": ["1"], "reason": "r", '
            '"reference": "https://x"}]',
            "ecosystem",
        ),
    ],
)
def test_bad_deny_lists_are_policy_errors(text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_deny_list(text, "deny.json")


def test_inventory_reads_cyclonedx_components_and_purl_types(tmp_path: Path) -> None:
    sbom = tmp_path / "sbom.json"
    components = [
        {"type": "library", "name": "xz-utils", "version": "5.6.1-1", "purl": "pkg:deb/d/xz@1"},
        {"type": "library", "name": "requests", "version": "2.0", "purl": "pkg:pypi/requests@2.0"},
        {"type": "library", "name": "nopurl", "version": "1"},
        {"type": "operating-system", "name": "debian", "version": "12"},
        "junk",
    ]
    sbom.write_text(json.dumps({"bomFormat": "CycloneDX", "components": components}))
    assert inventory(sbom) == (
        XZ,
        Package("requests", "2.0", "pypi"),
        Package("nopurl", "1", ""),
    )
    assert inventory(None) == () and inventory(tmp_path / "missing.json") == ()
    sbom.write_text("{")
    assert inventory(sbom) == ()


def _denied() -> tuple[Finding, ...]:
    return match([XZ], default_entries())


def test_inventory_only_with_a_denied_package_fails() -> None:
    findings, result, status = evaluate(_denied(), Policy(), today=TODAY, vulnerability_data=False)
    assert status == "failed" and result.decision == DECISION_FAIL
    assert "deny list" in result.reason and "DENY-xz-utils-5.6.1-1" in result.reason
    assert "no vulnerability data" in result.reason
    assert findings[0].violation


def test_inventory_only_without_a_match_is_not_evaluated() -> None:
    _, result, status = evaluate((), Policy(), today=TODAY, vulnerability_data=False)
    assert status == "passed" and result.decision == DECISION_NOT_EVALUATED


def test_a_denied_package_fails_whatever_the_severity_limits() -> None:
    policy = Policy(fail_on="none", max_critical=10)
    findings, result, status = evaluate(_denied(), policy, today=TODAY)
    assert status == "failed" and result.reason.startswith("deny list: 1 denied package")
    assert findings[0].violation


def test_only_an_ignore_entry_naming_the_finding_hides_it() -> None:
    by_cve = Policy(ignores=(IgnoreEntry("CVE-2024-3094", date(2999, 1, 1), "not this"),))
    _, result, status = evaluate(_denied(), by_cve, today=TODAY, vulnerability_data=False)
    assert status == "failed"
    by_id = Policy(ignores=(IgnoreEntry("DENY-xz-utils-5.6.1-1", date(2999, 1, 1), "rebuilt"),))
    findings, result, status = evaluate(_denied(), by_id, today=TODAY)
    assert status == "passed" and result.decision == DECISION_PASS
    assert findings[0].ignored.startswith("rebuilt") and not findings[0].violation
