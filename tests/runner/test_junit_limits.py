"""JUnit for CodeBuild with 2,000 findings: 500 cases at most, failures first, a folded summary."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

from scanner_runner.policy import Policy, evaluate
from scanner_runner.report import SEVERITIES, Finding
from scanner_runner.writers import junit
from tests.runner.conftest import fixed_report


def many(count: int) -> list[Finding]:
    return [
        Finding(
            str(200000 + n),
            SEVERITIES[(n * 7) % 5],
            f"Vulnerability {n}",
            (f"CVE-2025-{n:05d}",),
            f"pkg{n % 40}",
            f"1.{n % 9}",
            f"1.{n % 9}.1" if n % 3 else "",
        )
        for n in range(count)
    ]


def parse(count: int, policy: Policy) -> tuple[ET.Element, list[ET.Element]]:
    marked, decision, status = evaluate(many(count), policy, today=date(2026, 1, 1))
    report = fixed_report(findings=marked, policy=decision, status=status)
    root = ET.fromstring(junit.render(report))  # noqa: S314 (our own output)
    return root, list(root.iter("testcase"))


def test_two_thousand_findings_fold_into_500_cases_failures_first() -> None:
    root, cases = parse(2000, Policy())
    assert len(cases) == junit.MAX_CASES
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == "500"
    assert cases[0].get("classname") == "deployscan.policy"
    finding_cases = cases[1:-1]
    failing = [c.find("failure") is not None for c in finding_cases]
    # 800 critical/high findings break the policy: every shown case is a failure
    assert all(failing)
    severities = [c.get("name", "").split("]")[0].strip("[") for c in finding_cases]
    assert severities == sorted(severities, key=["CRITICAL", "HIGH"].index)
    summary = cases[-1]
    assert summary.get("classname") == "deployscan.summary"
    assert (
        summary.get("name") == "[SUMMARY] 1502 more findings not listed (302 breaking the policy)"
    )
    failure = summary.find("failure")
    assert failure is not None and "s3://scan-results/" in (failure.text or "")
    assert suite.get("failures") == str(1 + 498 + 1)


def test_passing_findings_are_folded_after_failures() -> None:
    _, cases = parse(2000, Policy(fail_on="critical"))
    kinds = ["failure" if c.find("failure") is not None else "pass" for c in cases[1:-1]]
    assert kinds == sorted(kinds, key=["failure", "pass"].index)
    assert kinds.count("failure") == 400
    assert cases[-1].find("failure") is None  # nothing failing was folded
    assert "1502 more findings" in (cases[-1].get("name") or "")


def test_no_fold_when_everything_fits() -> None:
    _, cases = parse(499, Policy())
    assert len(cases) == 500
    assert all(c.get("classname") != "deployscan.summary" for c in cases)


def test_case_names_and_classnames_follow_the_contract() -> None:
    _, cases = parse(3, Policy())
    assert [(c.get("classname"), c.get("name")) for c in cases[1:]] == [
        ("pkg0@1.0", "[CRITICAL] 200000 CVE-2025-00000"),
        ("pkg1@1.1", "[MEDIUM] 200001 CVE-2025-00001"),
        ("pkg2@1.2", "[INFO] 200002 CVE-2025-00002"),
    ]
