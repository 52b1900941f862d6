"""A given archive is verified before any scanner sees it: the digest asked for, every layer blob,
and how much its layers unpack to. A tampered or oversized archive is an error report (exit 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dispatcher.imageref import ImageRef
from scanner_runner.job import Runtime, ScanJob
from scanner_runner.scan import Outcome, run_scan
from tests.runner.archives import Archive, build_docker_archive, build_oci_archive
from tests.runner.conftest import DoubleRun

OTHER = "sha256:" + "e" * 64
SCANNERS = ("qscanner", "syft")


def scan(tmp_path: Path, options: Any, archive: Archive, **job: Any) -> Outcome:
    values: dict[str, Any] = {
        "output_dir": tmp_path / "out",
        "archive": archive.path,
        "scanner": "qscanner",
        "timeout": 60.0,
    }
    values.update(job)
    if isinstance(values.get("image"), str):
        values["image"] = ImageRef.parse(values["image"])
    return run_scan(ScanJob(**values), Runtime(options=options))


def assert_refused(outcome: Outcome, words: str, double: DoubleRun) -> None:
    assert outcome.exit_code == 3, outcome.message
    assert outcome.report.status == "error"
    assert words in outcome.report.error, outcome.report.error
    assert outcome.report.findings == ()
    assert double.calls() == []  # refused before any scanner ran


# Item 4: the digest asked for must be the archive's.


def test_a_digest_that_is_not_the_archives_is_refused(
    tmp_path: Path, make_options: Any, double: DoubleRun, oci_archive: Archive
) -> None:
    outcome = scan(tmp_path, make_options(), oci_archive, digest=OTHER)
    assert_refused(outcome, f"{OTHER} is not this archive's", double)
    assert oci_archive.manifest_digest in outcome.report.error
    assert outcome.report.status != "passed"


def test_a_reference_digest_that_is_not_the_archives_is_refused(
    tmp_path: Path, make_options: Any, double: DoubleRun, oci_archive: Archive
) -> None:
    outcome = scan(tmp_path, make_options(), oci_archive, image=f"team/app@{OTHER}")
    assert_refused(outcome, f"{OTHER} is not this archive's", double)


def test_the_archives_own_digests_are_accepted(
    tmp_path: Path, make_options: Any, double: DoubleRun
) -> None:
    double.scenario = "clean"
    archive = build_oci_archive(tmp_path / "multi.tar", nested_index=True)
    for n, digest in enumerate((archive.manifest_digest, archive.index_digest)):
        out = tmp_path / f"out{n}"
        outcome = scan(tmp_path, make_options(), archive, digest=digest, output_dir=out)
        assert outcome.exit_code == 0, outcome.message
        assert outcome.report.image.digest == digest
    ref = f"team/app:1@{archive.index_digest}"
    outcome = scan(tmp_path, make_options(), archive, image=ref, digest=archive.manifest_digest)
    assert outcome.exit_code == 0, outcome.message


def test_a_digest_cannot_be_verified_against_a_docker_archive(
    tmp_path: Path, make_options: Any, double: DoubleRun, docker_archive: Archive
) -> None:
    outcome = scan(tmp_path, make_options(), docker_archive, digest=OTHER)
    assert_refused(outcome, "a docker-archive carries no manifest digest", double)


# Item 5: every layer blob is verified, under either scanner.


@pytest.mark.parametrize("scanner", SCANNERS)
@pytest.mark.parametrize("compress", [True, False])
def test_a_swapped_oci_layer_is_refused(
    tmp_path: Path, make_options: Any, double: DoubleRun, scanner: str, compress: bool
) -> None:
    archive = build_oci_archive(tmp_path / "swapped.tar", compress=compress, tamper="layer")
    outcome = scan(tmp_path, make_options(), archive, scanner=scanner)
    words = "does not match its digest" if not compress else "archive layer"
    assert_refused(outcome, words, double)
    assert not list((tmp_path / "out").glob(f"{scanner}/*"))  # no scanner output at all


@pytest.mark.parametrize(
    ("tamper", "words"),
    [("diff_id", "does not match the config's diff_id"), ("missing-layer", "lacks layer")],
)
def test_a_layer_that_is_not_the_configs_or_is_missing_is_refused(
    tmp_path: Path, make_options: Any, double: DoubleRun, tamper: str, words: str
) -> None:
    archive = build_oci_archive(tmp_path / "bad.tar", tamper=tamper)
    assert_refused(scan(tmp_path, make_options(), archive), words, double)


@pytest.mark.parametrize("scanner", SCANNERS)
@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize(
    ("tamper", "words"),
    [
        ("layer", "does not match the config's diff_id"),
        ("diff_id", "does not match the config's diff_id"),
        ("missing-layer", "lacks layer"),
    ],
)
def test_a_tampered_docker_archive_is_refused(
    tmp_path: Path,
    make_options: Any,
    double: DoubleRun,
    *,
    scanner: str,
    compress: bool,
    tamper: str,
    words: str,
) -> None:
    archive = build_docker_archive(tmp_path / "bad.tar", compress=compress, tamper=tamper)
    assert_refused(scan(tmp_path, make_options(), archive, scanner=scanner), words, double)


@pytest.mark.parametrize("compress", [False, True])
def test_a_good_docker_archive_still_scans(
    tmp_path: Path, make_options: Any, double: DoubleRun, compress: bool
) -> None:
    archive = build_docker_archive(tmp_path / "good.tar", compress=compress)
    outcome = scan(tmp_path, make_options(), archive)
    assert outcome.exit_code == 1 and outcome.report.findings  # the double's findings
    assert outcome.report.image.image_id == archive.image_id


# Item 16: what the layers unpack to is bounded before a scanner unpacks them.


@pytest.mark.parametrize("scanner", SCANNERS)
def test_a_layer_that_unpacks_past_the_limit_is_refused(
    tmp_path: Path, make_options: Any, double: DoubleRun, scanner: str
) -> None:
    bomb = build_oci_archive(tmp_path / "bomb.tar", files={"zeros": bytes(8 * 1024 * 1024)})
    assert bomb.path.stat().st_size < 64 * 1024  # 8 MiB of zeros packs small
    outcome = scan(tmp_path, make_options(), bomb, scanner=scanner, max_unpacked_bytes=1024 * 1024)
    assert_refused(outcome, "more than 1048576 bytes (MAX_UNPACKED_BYTES)", double)


def test_the_limit_counts_every_layer_and_allows_what_fits(
    tmp_path: Path, make_options: Any, double: DoubleRun, oci_archive: Archive
) -> None:
    double.scenario = "clean"
    outcome = scan(tmp_path, make_options(), oci_archive, max_unpacked_bytes=64 * 1024)
    assert outcome.exit_code == 0, outcome.message
    double.record.unlink()
    outcome = scan(tmp_path, make_options(), oci_archive, max_unpacked_bytes=1000)
    assert_refused(outcome, "more than 1000 bytes", double)
