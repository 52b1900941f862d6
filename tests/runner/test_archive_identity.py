"""What the runner reads from an archive before scanning: image ID and declared platform."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from scanner_runner.errors import ScannerError
from scanner_runner.scanners.archive import DOCKER_ARCHIVE, OCI_ARCHIVE, inspect_archive
from tests.runner.archives import build_docker_archive, build_oci_archive


@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_oci_archive_identity_and_platform(tmp_path: Path, arch: str) -> None:
    archive = build_oci_archive(tmp_path / "img.tar", arch=arch)
    info = inspect_archive(archive.path)
    assert info.format == OCI_ARCHIVE
    assert info.image_id == archive.image_id
    assert info.platform == f"linux/{arch}"


def test_docker_archive_identity_and_platform(tmp_path: Path) -> None:
    archive = build_docker_archive(tmp_path / "img.tar")
    info = inspect_archive(archive.path)
    assert (info.format, info.image_id, info.platform) == (
        DOCKER_ARCHIVE,
        archive.image_id,
        "linux/amd64",
    )


def test_a_tar_that_is_no_image_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plain.tar"
    with tarfile.open(path, "w") as tar:
        tar.add(__file__, arcname="notes.txt")
    with pytest.raises(ScannerError, match="neither an OCI archive nor a docker archive"):
        inspect_archive(path)
