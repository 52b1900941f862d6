"""`deployscan scan` with the deny list: a syft inventory can fail, in every report format."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner, Result

from scanner_runner.cli import main
from scanner_runner.report import load
from scanner_runner.writers import FORMATS
from tests.runner.archives import DPKG_STATUS, Archive, build_oci_archive, rootfs
from tests.runner.conftest import DOUBLE, SENTINEL_TOKEN, DoubleRun

XZ_STATUS = """
Package: xz-utils
Status: install ok installed
Version: 5.6.1-1
Architecture: amd64
"""
OPENSSL_ENTRY = {
    "name": "openssl",
    "ecosystem": "deb",
    "versions": ["3.0.11"],
    "reason": "our own ban",
    "reference": "https://example.com/ban",
}


@pytest.fixture
def env() -> dict[str, str]:
    return {
        "SCANNER": "syft",
        "RESULTS_S3_BUCKET": "",
        "SCAN_CACHE_TABLE": "",
        "SNS_TOPIC_ARN": "",
        "QUALYS_SECRET_ARN": "",
        "IMAGE_REF": "",
        "IMAGE_DIGEST": "",
        "POLICY_IGNORE": "",
        "DENY_LIST": "",
    }


@pytest.fixture(scope="module")
def xz_archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    files = rootfs("xz") | {"var/lib/dpkg/status": (DPKG_STATUS + XZ_STATUS).encode()}
    return build_oci_archive(tmp_path_factory.mktemp("xz") / "xz.tar", "xz", files=files)


def scan(out: Path, env: dict[str, str], archive: Archive, *extra: str) -> Result:
    args = ["scan", "--archive", str(archive.path), "--output-dir", str(out), *extra]
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


def test_a_compromised_package_fails_a_syft_scan_in_every_format(
    tmp_path: Path, env: dict[str, str], xz_archive: Archive
) -> None:
    result = scan(tmp_path, env, xz_archive)
    assert result.exit_code == 1, result.output
    assert result.output.startswith("failed (INVENTORY ONLY, no vulnerability data): ")
    report = load(tmp_path / "report.json")
    assert report.status == "failed" and report.policy.decision == "fail"
    assert not report.vulnerability_data
    assert "deny list" in report.policy.reason
    (finding,) = report.findings
    assert finding.kind == "denied-package" and finding.violation
    assert finding.id == "DENY-xz-utils-5.6.1-1"
    for output in FORMATS.values():
        text = (tmp_path / output.filename).read_text()
        assert "DENY-xz-utils-5.6.1-1" in text, output.name
        assert "CVE-2024-3094" in text, output.name


def test_a_clean_inventory_is_not_evaluated_and_passes(
    tmp_path: Path, env: dict[str, str], oci_archive: Archive
) -> None:
    result = scan(tmp_path, env, oci_archive)
    assert result.exit_code == 0, result.output
    verdict = "passed (INVENTORY ONLY, no vulnerability data): archive:app.tar: 3 packages listed;"
    assert result.output.startswith(verdict), result.output  # not a bare "passed"
    report = load(tmp_path / "report.json")
    assert report.policy.decision == "not-evaluated" and report.findings == ()


def test_a_user_list_from_a_file_adds_to_the_shipped_one(
    tmp_path: Path, env: dict[str, str], oci_archive: Archive
) -> None:
    deny = tmp_path / "deny.json"
    deny.write_text(json.dumps({"deny": [OPENSSL_ENTRY]}))
    result = scan(tmp_path / "out", env, oci_archive, "--deny-list", str(deny))
    assert result.exit_code == 1, result.output
    (finding,) = load(tmp_path / "out" / "report.json").findings
    assert finding.package == "openssl" and "our own ban" in finding.title


def test_a_user_list_from_s3(
    tmp_path: Path, env: dict[str, str], oci_archive: Archive, aws: None
) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="policy-bucket")
    s3.put_object(Bucket="policy-bucket", Key="deny.json", Body=json.dumps([OPENSSL_ENTRY]))
    env["DENY_LIST"] = "s3://policy-bucket/deny.json"
    result = scan(tmp_path, env, oci_archive)
    assert result.exit_code == 1, result.output
    assert load(tmp_path / "report.json").findings[0].package == "openssl"


def test_an_unreadable_s3_list_is_an_error_report_and_exit_3(
    tmp_path: Path, env: dict[str, str], oci_archive: Archive, aws: None
) -> None:
    env["DENY_LIST"] = "s3://no-such-policy-bucket/deny.json"
    result = scan(tmp_path, env, oci_archive)
    assert result.exit_code == 3
    report = load(tmp_path / "report.json")
    assert report.status == "error" and report.error.startswith("cannot read deny list ")


def test_a_bad_list_is_one_line_and_exit_2(
    tmp_path: Path, env: dict[str, str], oci_archive: Archive
) -> None:
    deny = tmp_path / "deny.json"
    deny.write_text('{"deny": [{"name": "x"}]}')
    result = scan(tmp_path / "out", env, oci_archive, "--deny-list", str(deny))
    assert result.exit_code == 2
    assert "deny.json: entry 0 lacks" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "report.json").exists()


@pytest.mark.parametrize(("sbom", "denied"), [(True, True), (False, False)])
def test_qscanner_inventory_is_its_sbom(
    tmp_path: Path,
    env: dict[str, str],
    double: DoubleRun,
    xz_archive: Archive,
    *,
    sbom: bool,
    denied: bool,
) -> None:
    env |= {
        "SCANNER": "qscanner",
        "QSCANNER_PATH": str(DOUBLE),
        "QUALYS_POD": "US1",
        "QUALYS_ACCESS_TOKEN": SENTINEL_TOKEN,
        "QSCANNER_DOUBLE_RECORD": str(double.record),
        "QSCANNER_DOUBLE_SCENARIO": "clean",
    }
    result = scan(tmp_path, env, xz_archive, *(["--sbom"] if sbom else []))
    assert result.exit_code == (1 if denied else 0), result.output
    ids = [f.id for f in load(tmp_path / "report.json").findings]
    assert ids == (["DENY-xz-utils-5.6.1-1"] if denied else [])
