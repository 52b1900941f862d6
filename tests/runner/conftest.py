"""Fixtures for the runner tests: archives built by code, the QScanner double, fixed reports."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from scanner_runner.report import (
    Finding,
    ImageInfo,
    PolicyResult,
    ScannerInfo,
    ScanReport,
    TriggerInfo,
)
from scanner_runner.scanners.interface import QualysCredentials, ScannerOptions, ScanRequest
from tests.runner.archives import Archive, build_docker_archive, build_oci_archive

DOUBLE = Path(__file__).resolve().parents[1] / "doubles" / "qscanner"
SENTINEL_TOKEN = "SENTINEL-qualys-token-8d1f0c"
SENTINEL_SECRET = "SENTINEL-client-secret-77aa"


@pytest.fixture(scope="session")
def oci_archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    """A small oci-archive (Debian-like, 3 dpkg packages), built once per session."""
    return build_oci_archive(tmp_path_factory.mktemp("archives") / "app.tar")


@pytest.fixture(scope="session")
def docker_archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    """A small docker-archive, built once per session."""
    return build_docker_archive(tmp_path_factory.mktemp("archives") / "app-docker.tar")


@dataclass
class DoubleRun:
    """How the double is driven in one test, and what it recorded."""

    record: Path
    scenario: str = "findings"
    sleeps: list[float] = field(default_factory=list)

    def calls(self) -> list[dict[str, Any]]:
        """One entry per invocation: argv and the env names it saw."""
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines()]


@pytest.fixture
def double(tmp_path: Path) -> DoubleRun:
    """Controls the QScanner double (scenario) and reads back its recorded invocations."""
    return DoubleRun(record=tmp_path / "double-calls.jsonl")


@pytest.fixture
def make_options(double: DoubleRun) -> Callable[..., ScannerOptions]:
    """ScannerOptions pointing at the double with sentinel credentials and a no-op sleep."""

    def make(**changes: Any) -> ScannerOptions:
        env = dict(os.environ)
        env["QSCANNER_DOUBLE_SCENARIO"] = double.scenario
        env["QSCANNER_DOUBLE_RECORD"] = str(double.record)
        values: dict[str, Any] = {
            "qscanner_path": str(DOUBLE),
            "pod": "US1",
            "credentials": QualysCredentials(access_token=SENTINEL_TOKEN),
            "base_env": env,
            "sleep": double.sleeps.append,
            "retry_delay": 0.01,
            "kill_grace": 0.5,
        }
        values.update(changes)
        return ScannerOptions(**values)

    return make


@pytest.fixture
def make_request(tmp_path: Path, oci_archive: Archive) -> Callable[..., ScanRequest]:
    """A ScanRequest for the session's OCI archive, output under tmp_path."""

    def make(archive: Archive | None = None, **changes: Any) -> ScanRequest:
        chosen = archive or oci_archive
        values: dict[str, Any] = {
            "archive": chosen.path,
            "archive_format": chosen.format,
            "image_id": chosen.image_id,
            "manifest_digest": chosen.manifest_digest,
            "output_dir": tmp_path / "out" / "raw",
            "work_dir": tmp_path / "work",
            "timeout": 30.0,
        }
        values.update(changes)
        return ScanRequest(**values)

    return make


def sample_findings() -> tuple[Finding, ...]:
    """A fixed, varied set of findings (all severities, fix/no fix, many CVEs, hostile text)."""
    return (
        Finding(
            "38001",
            "critical",
            "Remote code execution in openssl",
            ("CVE-2024-0001",),
            "openssl",
            "3.0.11-1~deb12u2",
            "3.0.13-1~deb12u1",
            "sha256:" + "ab" * 32,
        ),
        Finding(
            "38002",
            "high",
            "Privilege escalation <script>alert(1)</script> | pipe",
            tuple(f"CVE-2024-{1000 + i}" for i in range(7)),
            "zlib1g",
            "1:1.2.13.dfsg-1",
        ),
        Finding(
            "38003",
            "medium",
            "Information disclosure",
            (),
            "base-files",
            "12.4+deb12u5",
            "12.4+deb12u6",
        ),
        Finding(
            "38004",
            "low",
            "Weak default\x07 setting",
            ("CVE-2023-4444",),
            "openssl",
            "3.0.11-1~deb12u2",
        ),
        Finding("38005", "info", "Informational", (), "zlib1g", "1:1.2.13.dfsg-1"),
        Finding(
            "aws-access-key-id",
            "critical",
            "AWS Access Key",
            (),
            "/app/config.env:3",
            kind="secret",
        ),
    )


def fixed_report(**changes: Any) -> ScanReport:
    """A report with fixed clock, ids and findings (for golden files)."""
    from datetime import date

    from scanner_runner.policy import IgnoreEntry, Policy, evaluate

    policy = Policy(
        fail_on="high",
        ignores=(IgnoreEntry("38005", date(2030, 1, 31), "accepted risk, ticket SEC-12"),),
    )
    findings, decision, status = evaluate(sample_findings(), policy, today=date(2026, 3, 1))
    values: dict[str, Any] = {
        "image": ImageInfo(
            ref="123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/api:1.4.2",
            registry="123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            repository="shop/api",
            tag="1.4.2",
            digest="sha256:" + "0123456789abcdef" * 4,
            platform="linux/amd64",
            image_id="sha256:" + "fedcba9876543210" * 4,
            os="Debian GNU/Linux 12 (bookworm)",
        ),
        "trigger": TriggerInfo(
            source="ecs:TaskStateChange",
            account="123456789012",
            region="eu-west-1",
            resource_arn="arn:aws:ecs:eu-west-1:123456789012:task/prod/0a1b2c3d",
            event_id="6f1c0d2e-1111-2222-3333-444455556666",
            compute_tier="lambda",
        ),
        "scanner": ScannerInfo("qscanner", "4.8.0-2", "get-report"),
        "started_at": "2026-03-01T10:00:00Z",
        "finished_at": "2026-03-01T10:00:42Z",
        "status": status,
        "policy": decision,
        "findings": findings,
        "build_id": "deployscan-scan:5e0c2f4a-aaaa-bbbb-cccc-000000000001",
        "report_uri": "s3://scan-results/deployscan/123456789012/eu-west-1/shop/api/report.json",
    }
    values.update(changes)
    return ScanReport(**values)


def denied_inventory_report(**changes: Any) -> ScanReport:
    """An inventory-only (syft) scan that failed the deny list: one denied package."""
    from datetime import date

    from scanner_runner.denylist import KIND_DENIED
    from scanner_runner.policy import Policy, evaluate

    xz = Finding("deny:xz-utils@5.6.0", "critical", "backdoored release (CVE-2024-3094)",
                 ("CVE-2024-3094",), "xz-utils", "5.6.0", kind=KIND_DENIED)  # fmt: skip
    findings, decision, status = evaluate(
        [xz], Policy(), today=date(2026, 3, 1), vulnerability_data=False
    )
    values: dict[str, Any] = {
        "findings": findings,
        "policy": decision,
        "status": status,
        "vulnerability_data": False,
        "scanner": ScannerInfo("syft", "1.18.1", "inventory-only"),
        "inventory_packages": 3,
    }
    return fixed_report(**(values | changes))


def error_policy() -> PolicyResult:
    """The policy block of an error report."""
    return PolicyResult("error", "could not scan: qscanner failed with exit code 17")


def cli_env(double: DoubleRun, scenario: str, **extra: str) -> dict[str, str | None]:
    """What `deployscan scan` runs with in CLI tests: the QScanner double playing `scenario`, no
    build variables, nothing published; `extra` adds or overrides variables."""
    env: dict[str, str | None] = {
        "QSCANNER_PATH": str(DOUBLE),
        "QUALYS_POD": "US1",
        "QUALYS_ACCESS_TOKEN": SENTINEL_TOKEN,
        "QSCANNER_DOUBLE_RECORD": str(double.record),
        "QSCANNER_DOUBLE_SCENARIO": scenario,
        "SCANNER": "",
        "RESULTS_S3_BUCKET": "",
        "SCAN_CACHE_TABLE": "",
        "SNS_TOPIC_ARN": "",
        "QUALYS_SECRET_ARN": "",
        "IMAGE_REF": "",
        "IMAGE_DIGEST": "",
    }
    env.update(extra)
    return env
