"""`--output-dir`: deployscan clears only what it wrote, and one scan writes there at a time."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from scanner_runner import outdir
from scanner_runner.cli import main
from scanner_runner.report import load
from tests.runner.archives import Archive
from tests.runner.conftest import DoubleRun, cli_env


@pytest.fixture
def env(double: DoubleRun) -> dict[str, str | None]:
    return cli_env(double, "clean")


def scan(out: Path, env: dict[str, str], archive: Archive) -> Result:
    args = ["scan", "--archive", str(archive.path), "--output-dir", str(out)]
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


def snapshot(directory: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(directory)): p.read_bytes() if p.is_file() else None
        for p in sorted(directory.rglob("*"))
    }


@pytest.mark.parametrize("name", outdir.owned_names())
def test_a_directory_deployscan_did_not_write_is_refused_untouched(
    tmp_path: Path, env: dict[str, str], double: DoubleRun, oci_archive: Archive, name: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    if "." in name:
        (out / name).write_text("someone else's file")
    else:  # qscanner/, syft/: e.g. where a qscanner binary is kept
        (out / name).mkdir()
        (out / name / "qscanner").write_bytes(b"\x7fELF binary")
    before = snapshot(out)
    result = scan(out, env, oci_archive)
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert "deployscan did not write" in result.output and name in result.output
    assert snapshot(out) == before  # nothing removed, nothing added (not even the marker)
    assert double.calls() == []  # refused before the scan


def test_a_file_named_like_the_raw_directory_is_refused(
    tmp_path: Path, env: dict[str, str], oci_archive: Archive
) -> None:
    (tmp_path / "qscanner").write_bytes(b"\x7fELF binary")
    result = scan(tmp_path, env, oci_archive)
    assert result.exit_code == 2 and "qscanner" in result.output
    assert (tmp_path / "qscanner").read_bytes() == b"\x7fELF binary"


def test_earlier_outputs_of_its_own_directory_are_cleared_and_nothing_else(
    tmp_path: Path, env: dict[str, str], oci_archive: Archive
) -> None:
    out = tmp_path / "out"
    assert scan(out, env | {"QSCANNER_DOUBLE_SCENARIO": "findings"}, oci_archive).exit_code == 1
    assert (out / outdir.MARKER).is_file()
    (out / "notes.txt").write_text("mine")
    (out / "qscanner" / "stale-ScanResult.json").write_text("{}")
    (out / "sbom.cdx.json").write_text("stale")
    result = scan(out, env, oci_archive)
    assert result.exit_code == 0, result.output
    assert load(out / "report.json").status == "passed"
    assert not (out / "qscanner" / "stale-ScanResult.json").exists()
    assert not (out / "sbom.cdx.json").exists()
    assert (out / "notes.txt").read_text() == "mine"


def test_an_empty_or_unrelated_directory_is_taken_and_marked(
    tmp_path: Path, env: dict[str, str], oci_archive: Archive
) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert scan(tmp_path, env, oci_archive).exit_code == 0
    assert (tmp_path / outdir.MARKER).is_file()
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_second_scan_into_a_busy_directory_is_refused(
    tmp_path: Path, env: dict[str, str], double: DoubleRun, oci_archive: Archive
) -> None:
    out = tmp_path / "out"
    assert scan(out, env | {"QSCANNER_DOUBLE_SCENARIO": "findings"}, oci_archive).exit_code == 1
    before = snapshot(out)
    with outdir.claim(out):  # another scan is running there
        result = scan(out, env, oci_archive)
    assert result.exit_code == 3
    assert len(result.output.strip().splitlines()) == 1
    assert "another deployscan scan is writing to" in result.output
    assert snapshot(out) == before  # the other scan's reports are left alone
    assert len(double.calls()) == 1
    assert scan(out, env, oci_archive).exit_code == 0  # free again once it finished
