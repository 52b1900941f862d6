"""The QScanner double itself follows the reference: argv grammar, env-only credentials, files."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.runner.archives import Archive
from tests.runner.conftest import DOUBLE, SENTINEL_TOKEN


def run_double(
    args: list[str], tmp_path: Path, *, token: bool = True, home: bool = True, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": os.environ["PATH"], "DISABLE_QSCANNER_BANNER": "yes", **env}
    if home:
        environment["HOME"] = str(tmp_path / "home")
    if token:
        environment["QUALYS_ACCESS_TOKEN"] = SENTINEL_TOKEN
    return subprocess.run(
        [str(DOUBLE), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def base_args(out: Path, archive: Archive) -> list[str]:
    flags = "--pod US1 --mode get-report --scan-types pkg --format json --report-format sarif,json"
    return [*flags.split(), "--output-dir", str(out), "tar", str(archive.path)]


def test_writes_the_reference_files_named_by_image_id(tmp_path: Path, oci_archive: Archive) -> None:
    result = run_double(base_args(tmp_path / "out", oci_archive), tmp_path)
    assert result.returncode == 0, result.stderr
    image_hex = oci_archive.image_id.split(":")[1]
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    suffixes = ("ChangeList.db.xz", "Report.json", "Report.sarif.json", "ScanResult.json")
    assert names == [f"{image_hex}-{suffix}" for suffix in suffixes]
    scan_result = json.loads((tmp_path / "out" / f"{image_hex}-ScanResult.json").read_text())
    image_meta = scan_result["Metadata"]["TargetMetadata"]["ImageMetadata"]
    assert image_meta["ImageID"] == oci_archive.image_id


def test_flags_are_accepted_after_the_command_and_with_equals(
    tmp_path: Path, oci_archive: Archive
) -> None:
    args = [
        "tar",
        str(oci_archive.path),
        "--pod=US1",
        "-m",
        "get-report",
        f"--output-dir={tmp_path / 'out'}",
        "--file-logging",
    ]
    result = run_double(args, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "qscanner.log").exists()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--output-format", "json"], 2, "unknown flag: --output-format"),
        (["--scan-type", "pkg"], 2, "unknown flag: --scan-type"),
        (["--mode", "fast"], 2, "invalid mode"),
        (["--scan-types", "pkg,viruses"], 2, "invalid value"),
        (["--scan-timeout", "5 minutes"], 2, "invalid duration"),
        (["--pod", "US02"], 2, "invalid pod"),
        (["--access-token", "x"], 2, "credentials must reach qscanner through its environment"),
    ],
)
def test_rejects_what_the_real_tool_rejects(
    tmp_path: Path, oci_archive: Archive, args: list[str], code: int, message: str
) -> None:
    result = run_double([*base_args(tmp_path / "out", oci_archive), *args], tmp_path)
    assert result.returncode == code
    assert message in result.stderr


def test_token_value_anywhere_in_argv_is_refused(tmp_path: Path, oci_archive: Archive) -> None:
    args = [
        "--policy-tags",
        SENTINEL_TOKEN.replace("-", "_"),
        *base_args(tmp_path / "o", oci_archive),
    ]
    assert run_double(args, tmp_path).returncode == 0  # a different string is fine
    args = [
        "--proxy",
        f"http://{SENTINEL_TOKEN}@proxy:3128",
        *base_args(tmp_path / "o", oci_archive),
    ]
    result = run_double(args, tmp_path)
    assert result.returncode == 2


def test_needs_credentials_and_home(tmp_path: Path, oci_archive: Archive) -> None:
    no_token = run_double(base_args(tmp_path / "out", oci_archive), tmp_path, token=False)
    assert no_token.returncode == 1
    assert "Access token (--access-token) are required" in no_token.stderr
    no_home = run_double(base_args(tmp_path / "out", oci_archive), tmp_path, home=False)
    assert no_home.returncode == 1
    assert "neither $XDG_CONFIG_HOME nor $HOME are defined" in no_home.stderr


def test_inventory_only_needs_no_credentials(tmp_path: Path, oci_archive: Archive) -> None:
    args = [
        "--mode",
        "inventory-only",
        "--output-dir",
        str(tmp_path / "o"),
        "tar",
        str(oci_archive.path),
    ]
    result = run_double(args, tmp_path, token=False)
    assert result.returncode == 0, result.stderr
    assert [p.name.split("-", 1)[1] for p in (tmp_path / "o").iterdir()] == ["ScanResult.json"]


def test_unreadable_archive_is_exit_7(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar")
    result = run_double(
        ["--pod", "US1", "--output-dir", str(tmp_path / "o"), "tar", str(junk)], tmp_path
    )
    assert result.returncode == 7
