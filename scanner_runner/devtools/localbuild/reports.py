"""Collect a build's `reports:` files and check them as CodeBuild's report groups would.

JUnit XML is parsed into test cases (status SUCCEEDED / FAILED / ERROR / SKIPPED). CodeBuild keeps
at most 500 test cases per report, failed ones first; a report over the limit is truncated the
same way and flagged, so a test can prove the runner stays under it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # files the build itself wrote, size-capped below
from dataclasses import dataclass
from pathlib import Path

from scanner_runner.devtools.localbuild.buildspec import ReportSpec

MAX_TEST_CASES = 500
MAX_NAME_LENGTH = 1000
MAX_MESSAGE_LENGTH = 5000
MAX_REPORT_FILE_BYTES = 50 * 1024 * 1024
_STATUS_ORDER = {"FAILED": 0, "ERROR": 1, "SUCCEEDED": 2, "SKIPPED": 3}


@dataclass(frozen=True)
class TestCase:
    """One test case as CodeBuild stores it."""

    __test__ = False  # not a pytest class

    suite: str
    prefix: str
    name: str
    status: str
    message: str = ""


@dataclass(frozen=True)
class Report:
    """One report of a report group for one build."""

    group: str
    file_format: str
    status: str  # SUCCEEDED | FAILED | INCOMPLETE
    files: tuple[Path, ...]
    cases: tuple[TestCase, ...] = ()
    truncated: bool = False
    message: str = ""

    def count(self, status: str) -> int:
        """How many test cases have `status`."""
        return sum(1 for case in self.cases if case.status == status)


def collect_report(spec: ReportSpec, src_dir: Path) -> Report:
    """Find the spec's files under `src_dir/base-directory` and parse them (JUnit XML)."""
    base = (src_dir / spec.base_directory).resolve()
    files = tuple(sorted({p for pattern in spec.files for p in base.glob(pattern) if p.is_file()}))
    if not files:
        message = f"no report files matched {list(spec.files)} under {spec.base_directory or '.'}"
        return Report(spec.group, spec.file_format, "INCOMPLETE", (), message=message)
    if spec.file_format != "JUNITXML":
        message = f"the local executor reads JUNITXML only, not {spec.file_format}"
        return Report(spec.group, spec.file_format, "FAILED", files, message=message)
    cases: list[TestCase] = []
    for path in files:
        try:
            cases.extend(parse_junit(path))
        except ValueError as exc:
            return Report(spec.group, spec.file_format, "FAILED", files, message=str(exc))
    cases.sort(key=lambda case: _STATUS_ORDER.get(case.status, 9))
    truncated = len(cases) > MAX_TEST_CASES
    return Report(
        spec.group,
        spec.file_format,
        "SUCCEEDED",
        files,
        cases=tuple(cases[:MAX_TEST_CASES]),
        truncated=truncated,
        message=f"{len(cases)} test cases, kept {MAX_TEST_CASES}" if truncated else "",
    )


def parse_junit(path: Path) -> list[TestCase]:
    """Parse one JUnit XML file into test cases; raise `ValueError` when it is not JUnit."""
    if path.stat().st_size > MAX_REPORT_FILE_BYTES:
        raise ValueError(f"{path.name}: larger than {MAX_REPORT_FILE_BYTES} bytes")
    try:
        root = ET.parse(path).getroot()  # noqa: S314
    except ET.ParseError as exc:
        raise ValueError(f"{path.name}: not well-formed XML: {exc}") from exc
    if root.tag not in {"testsuites", "testsuite"}:
        raise ValueError(f"{path.name}: root element is <{root.tag}>, not a JUnit test suite")
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    cases = []
    for suite in suites:
        suite_name = suite.get("name", "")
        for element in suite.iter("testcase"):
            name = element.get("name")
            if not name:
                raise ValueError(f"{path.name}: a <testcase> has no name")
            if len(name) > MAX_NAME_LENGTH:
                raise ValueError(f"{path.name}: test case name over {MAX_NAME_LENGTH} characters")
            status, message = _status(element)
            cases.append(
                TestCase(
                    suite=suite_name,
                    prefix=element.get("classname", ""),
                    name=name,
                    status=status,
                    message=message[:MAX_MESSAGE_LENGTH],
                )
            )
    return cases


def _status(element: ET.Element) -> tuple[str, str]:
    for tag, status in (("failure", "FAILED"), ("error", "ERROR"), ("skipped", "SKIPPED")):
        child = element.find(tag)
        if child is not None:
            return status, child.get("message") or (child.text or "")
    return "SUCCEEDED", ""
