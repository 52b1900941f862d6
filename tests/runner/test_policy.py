"""The policy: limits, ignore list with expiry, QScanner verdicts, inventory-only."""

from __future__ import annotations

from datetime import date

import pytest

from scanner_runner.errors import PolicyError
from scanner_runner.policy import (
    IgnoreEntry,
    Policy,
    evaluate,
    normalise_id,
    parse_ignore_list,
)
from scanner_runner.report import Finding

TODAY = date(2026, 6, 1)


def findings(*severities: str) -> list[Finding]:
    return [Finding(str(100 + i), s, cves=(f"CVE-2026-{i:04d}",)) for i, s in enumerate(severities)]


def test_default_fails_on_high_and_critical_only() -> None:
    marked, result, status = evaluate(findings("high", "medium", "low"), Policy(), today=TODAY)
    assert status == "failed" and result.decision == "fail"
    assert result.reason == "1 high finding (none allowed)"
    assert [f.violation for f in marked] == [True, False, False]
    assert result.thresholds["limits"] == {
        "critical": 0,
        "high": 0,
        "medium": None,
        "low": None,
        "info": None,
    }


def test_below_the_threshold_passes_with_a_reason() -> None:
    _, result, status = evaluate(findings("medium", "low", "info"), Policy(), today=TODAY)
    assert status == "passed" and result.decision == "pass"
    assert "fail on high" in result.reason


@pytest.mark.parametrize(
    ("policy", "status"),
    [
        (Policy(fail_on="critical"), "passed"),
        (Policy(fail_on="medium"), "failed"),
        (Policy(fail_on="none"), "passed"),
        (Policy(max_high=2), "passed"),
        (Policy(max_high=1), "failed"),
        (Policy(fail_on="none", max_medium=0), "failed"),
        (Policy(fail_on="critical", max_critical=0, max_high=5), "passed"),
    ],
)
def test_thresholds(policy: Policy, status: str) -> None:
    assert evaluate(findings("high", "high", "medium"), policy, today=TODAY)[2] == status


def test_count_limit_reason_names_the_limit() -> None:
    _, result, _ = evaluate(findings("high", "high", "high"), Policy(max_high=2), today=TODAY)
    assert result.reason == "3 high findings exceed the limit of 2"


def test_ignore_entries_apply_until_they_expire() -> None:
    policy = Policy(
        ignores=(
            IgnoreEntry("100", date(2026, 6, 1), "vendor backport"),
            IgnoreEntry("CVE-2026-0001", date(2026, 5, 31), "expired yesterday"),
        )
    )
    marked, result, status = evaluate(findings("critical", "high"), policy, today=TODAY)
    assert marked[0].ignored == "vendor backport (until 2026-06-01)" and not marked[0].violation
    assert marked[1].violation and not marked[1].ignored
    assert status == "failed" and result.ignored == 1
    assert result.warnings == (
        "ignore entry CVE-2026-0001 expired on 2026-05-31 and no longer applies",
    )


def test_cve_ignore_matches_any_cve_of_a_finding() -> None:
    policy = Policy(ignores=(IgnoreEntry("CVE-2026-0000", date(2027, 1, 1), "n/a"),))
    _, _, status = evaluate(findings("critical"), policy, today=TODAY)
    assert status == "passed"


def test_qscanner_deny_fails_even_without_findings() -> None:
    _, result, status = evaluate([], Policy(), today=TODAY, verdict="DENY")
    assert status == "failed" and result.reason == "QScanner policy evaluation returned DENY"


def test_qscanner_audit_passes_with_a_warning() -> None:
    _, result, status = evaluate(findings("low"), Policy(), today=TODAY, verdict="AUDIT")
    assert status == "passed" and result.decision == "audit"
    assert any("AUDIT" in w for w in result.warnings)


def test_inventory_only_is_not_evaluated_and_says_so() -> None:
    _, result, status = evaluate([], Policy(), today=TODAY, vulnerability_data=False)
    assert status == "passed" and result.decision == "not-evaluated"
    assert "no vulnerability data" in result.reason


def test_ignore_list_parsing() -> None:
    text = '{"ignore": [{"id": "QID-38001", "expires": "2026-12-31", "reason": " fixed upstream "},'
    text += ' {"id": "cve-2024-1234", "expires": "2026-07-01", "reason": "not reachable"}]}'
    entries = parse_ignore_list(text)
    assert entries == (
        IgnoreEntry("38001", date(2026, 12, 31), "fixed upstream"),
        IgnoreEntry("CVE-2024-1234", date(2026, 7, 1), "not reachable"),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ('{"ignore": {}}', "expected"),
        ('[{"id": "1", "expires": "2026-01-01"}]', "lacks 'reason'"),
        ('[{"id": "1", "expires": "soon", "reason": "x"}]', "is no date"),
        ('[{"id": "1", "expires": "2026-01-01", "reason": " "}]', "non-empty reason"),
        ('[{"id": "../../etc", "expires": "2026-01-01", "reason": "x"}]', "not a QID"),
        ("[" * 100_000 + "]" * 100_000, "nests too deeply"),
    ],
)
def test_bad_ignore_lists_are_usage_errors(text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_ignore_list(text, "ignore.json")


def test_policy_validation() -> None:
    with pytest.raises(PolicyError):
        Policy(fail_on="severe")
    with pytest.raises(PolicyError):
        Policy(max_high=-1)
    assert normalise_id(" 42 ") == "42"
