"""`verify_layers` on its own: what it counts, what it refuses, and in how much memory."""

from __future__ import annotations

import importlib.util
import io
import tarfile
import tracemalloc
from pathlib import Path

import pytest

from scanner_runner.errors import ScannerError
from scanner_runner.scanners.archive import inspect_archive
from scanner_runner.scanners.layers import verify_layers
from tests.runner.archives import _layer, build_docker_archive, build_oci_archive, rootfs

LIMIT = 1024**3


def unpacked_size() -> int:
    return len(_layer(rootfs("app")))


def test_a_good_archive_counts_what_its_layers_unpack_to(tmp_path: Path) -> None:
    for compress in (True, False):
        archive = build_oci_archive(tmp_path / f"oci-{compress}.tar", compress=compress)
        assert verify_layers(archive.path, inspect_archive(archive.path), LIMIT) == unpacked_size()
        docker = build_docker_archive(tmp_path / f"docker-{compress}.tar", compress=compress)
        assert verify_layers(docker.path, inspect_archive(docker.path), LIMIT) == unpacked_size()


def test_a_repeated_layer_counts_each_time_a_scanner_unpacks_it(tmp_path: Path) -> None:
    archive = build_oci_archive(tmp_path / "twice.tar", repeat=2)
    info = inspect_archive(archive.path)
    assert verify_layers(archive.path, info, LIMIT) == 2 * unpacked_size()
    with pytest.raises(ScannerError, match="more than"):
        verify_layers(archive.path, info, 2 * unpacked_size() - 1)


def test_a_docker_save_symlinked_layer_is_followed(tmp_path: Path) -> None:
    archive = build_docker_archive(tmp_path / "linked.tar")
    relinked = tmp_path / "relinked.tar"
    with tarfile.open(archive.path) as source, tarfile.open(relinked, "w") as target:
        for member in source.getmembers():
            handle = source.extractfile(member)
            data = handle.read() if handle else b""
            if member.name == "manifest.json":
                data = data.replace(b"l1/layer.tar", b"l2/layer.tar")
            target.addfile(member, io.BytesIO(data))
        link = tarfile.TarInfo("l2/layer.tar")
        link.type, link.linkname = tarfile.SYMTYPE, "../l1/layer.tar"
        target.addfile(link)
    assert verify_layers(relinked, inspect_archive(relinked), LIMIT) == unpacked_size()


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"\x1f\x8b\x08\x00" + b"\x00" * 6 + b"not deflate at all", "does not decompress"),
        (b"\x1f\x8b", "does not decompress"),  # a header cut short
    ],
)
def test_a_broken_compressed_layer_is_refused(tmp_path: Path, raw: bytes, words: str) -> None:
    archive = build_oci_archive(tmp_path / "broken.tar", raw_layer=raw)
    with pytest.raises(ScannerError, match=words):
        verify_layers(archive.path, inspect_archive(archive.path), LIMIT)


ZSTD_HERE = bool(importlib.util.find_spec("zstandard") or importlib.util.find_spec("compression"))
ZSTD_BLOB = b"\x28\xb5\x2f\xfd" + b"\0" * 64  # zstd's magic, then nothing a decoder accepts


def test_a_zstd_layer_is_checked_by_its_digest_when_nothing_can_decompress_it(
    tmp_path: Path,
) -> None:
    archive = build_oci_archive(tmp_path / "zstd.tar", raw_layer=ZSTD_BLOB)
    if ZSTD_HERE:  # a real decoder reads it, and these bytes are no zstd frame
        with pytest.raises(ScannerError, match="does not decompress"):
            verify_layers(archive.path, inspect_archive(archive.path), LIMIT)
    else:  # the blob is the manifest's: accepted, though its unpacked size cannot be counted
        assert verify_layers(archive.path, inspect_archive(archive.path), LIMIT) == 0


def test_a_swapped_zstd_layer_is_refused(tmp_path: Path) -> None:
    archive = build_oci_archive(tmp_path / "zstd.tar", raw_layer=ZSTD_BLOB)
    swapped = tmp_path / "swapped.tar"
    with tarfile.open(archive.path) as source, tarfile.open(swapped, "w") as target:
        for member in source.getmembers():
            data = source.extractfile(member)
            body = data.read() if data else b""
            if body == ZSTD_BLOB:  # same size, other content: only the digest can tell
                body = ZSTD_BLOB[:4] + b"\1" * 64
            member.size = len(body)
            target.addfile(member, io.BytesIO(body) if member.isfile() else None)
    with pytest.raises(ScannerError, match=r"does not match its digest|does not decompress"):
        verify_layers(swapped, inspect_archive(swapped), LIMIT)


def test_memory_stays_bounded_while_a_large_layer_is_checked(tmp_path: Path) -> None:
    big = {"zeros": bytes(32 * 1024 * 1024)}
    archive = build_oci_archive(tmp_path / "big.tar", files=big)
    info = inspect_archive(archive.path)
    tracemalloc.start()
    try:
        assert verify_layers(archive.path, info, LIMIT) > 32 * 1024 * 1024
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024  # a few 1 MiB chunks, never the layer
