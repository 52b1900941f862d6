"""Hostile packages and downloads: each is an error report (exit 3), nothing lands outside the
work dir, and no unverified byte is unpacked."""

from __future__ import annotations

import io
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from dispatcher.buildvars import KIND_LAMBDA_ZIP
from scanner_runner.devtools.codeserve import CodeServer
from scanner_runner.errors import PullError
from scanner_runner.lambdazip import CodeRequest
from scanner_runner.lambdazip.unpack import Budget, unpack
from tests.lambdazip.conftest import FUNCTION, StubSession, function_answer
from tests.lambdazip.test_scan_zip import scan
from tests.lambdazip.zips import code_sha256, file, function_zip, link, make_zip


def overlapping_bomb() -> bytes:
    """Two central-directory entries pointing at one local entry (the overlapping zip bomb)."""
    data = bytearray(make_zip([file("a.txt", b"A" * 1000), file("b.txt", b"B" * 1000)]))
    second = data.rfind(b"PK\x01\x02")  # b.txt's central directory record
    data[second + 42 : second + 46] = (0).to_bytes(4, "little")  # its local header: a.txt's
    return bytes(data)


# name -> (the package, what its error report must say)
HOSTILE: dict[str, tuple[Callable[[], bytes], str]] = {
    "zip-slip": (
        lambda: make_zip([file("ok.txt"), file("../../escaped-slip.txt")]),
        "'../../escaped-slip.txt' leaves the tree",
    ),
    "absolute-path": (
        lambda: make_zip([file("/tmp/escaped-absolute.txt")]),
        "absolute entry path '/tmp/escaped-absolute.txt'",
    ),
    "symlink-out": (
        lambda: make_zip([link("out", "../../../"), file("later.txt")]),
        "symlink out points outside the tree",
    ),
    "symlink-absolute": (
        lambda: make_zip([link("etc", "/etc")]),
        "symlink etc points outside the tree",
    ),
    "symlink-through-symlink": (
        lambda: make_zip([file("d/q"), link("d/l", "q"), link("a", "d/l/../..")]),
        "symlink a resolves through another symlink",
    ),
    "device-file": (
        lambda: make_zip([("dev/sda", b"", stat.S_IFBLK | 0o600)]),
        "dev/sda is a device, FIFO or socket",
    ),
    "fifo": (
        lambda: make_zip([("pipe", b"", stat.S_IFIFO | 0o600)]),
        "pipe is a device, FIFO or socket",
    ),
    "duplicate-entry": (
        lambda: make_zip([file("x.py", "1"), file("x.py", "2")]),
        "x.py appears twice",
    ),
    "ratio-bomb": (
        lambda: make_zip([file("zeros.bin", b"\0" * (8 << 20))], level=9),
        "zeros.bin expands 1028:1 (a zip bomb)",
    ),
    "overlapping-bomb": (overlapping_bomb, "zip entries overlap (a zip bomb)"),
    "not-a-zip": (lambda: b"this is not a zip at all", "is not a valid zip"),
}


def answer(stubber: Stubber, location: str, sha: str, size: int) -> None:
    stubber.add_response(
        "get_function",
        function_answer(location, sha, size),
        {"FunctionName": FUNCTION, "Qualifier": "3"},
    )


def assert_error_and_contained(outcome: Any, tmp_path: Path, words: str) -> None:
    assert outcome.exit_code == 3 and outcome.report.status == "error"
    assert words in outcome.report.error, outcome.report.error
    assert not outcome.report.findings
    escaped = [p for p in tmp_path.parent.rglob("escaped-*")] + list(Path("/tmp").glob("escaped-*"))
    assert escaped == []
    assert "SIGNATURE-SENTINEL" not in outcome.report.error  # the presigned query never shows


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_packages_are_error_reports(
    name: str,
    tmp_path: Path,
    trusted: CodeServer,
    lambda_stub: tuple[Stubber, StubSession],
    make_options: Callable[..., Any],
) -> None:
    stubber, session = lambda_stub
    build, reason = HOSTILE[name]
    data = build()
    answer(stubber, trusted.put(f"{name}.zip", data), code_sha256(data), len(data))
    outcome = scan(tmp_path, session, make_options(), CodeRequest(KIND_LAMBDA_ZIP, f"{FUNCTION}:3"))
    assert_error_and_contained(outcome, tmp_path, reason)
    root = tmp_path / "work" / "lambda-root"
    links = [p for p in root.rglob("*") if p.is_symlink()] if root.exists() else []
    assert all(p.resolve().is_relative_to(root.resolve()) for p in links)


def test_the_absolute_bound_counts_the_function_and_its_layers_together(tmp_path: Path) -> None:
    budget = Budget(max_bytes=3000)
    first = tmp_path / "a.zip"
    first.write_bytes(make_zip([file("a.bin", b"a" * 2000)]))
    unpack(first, tmp_path / "t", budget, "function")
    second = tmp_path / "b.zip"
    second.write_bytes(make_zip([file("b.bin", b"b" * 2000)]))
    with pytest.raises(PullError, match="more than 3000 bytes"):
        unpack(second, tmp_path / "o", budget, "layer")
    assert not (tmp_path / "o" / "b.bin").exists()


def test_the_file_count_is_bounded(tmp_path: Path) -> None:
    archive = tmp_path / "many.zip"
    archive.write_bytes(make_zip([file(f"f{i}") for i in range(11)]))
    with pytest.raises(PullError, match="more than 10 files"):
        unpack(archive, tmp_path / "t", Budget(max_files=10), "function")
    assert not (tmp_path / "t").exists()  # refused before anything was written


def test_an_inside_symlink_is_kept(tmp_path: Path) -> None:
    archive = tmp_path / "ok.zip"
    archive.write_bytes(
        make_zip([file("lib/real.py", "x"), link("bin/alias.py", "../lib/real.py")])
    )
    unpack(archive, tmp_path / "t", Budget(), "function")
    assert (tmp_path / "t" / "bin" / "alias.py").read_text() == "x"


def test_a_later_layer_never_writes_through_an_earlier_layers_link(tmp_path: Path) -> None:
    budget, root = Budget(), tmp_path / "opt"
    first = tmp_path / "1.zip"
    first.write_bytes(make_zip([file("python/x.py"), link("lib", "python")]))
    unpack(first, root, budget, "layer 1")
    second = tmp_path / "2.zip"
    second.write_bytes(make_zip([file("lib/evil.py")]))
    with pytest.raises(PullError, match="through a link"):
        unpack(second, root, budget, "layer 2")
    assert not (root / "python" / "evil.py").exists()


@pytest.mark.parametrize(
    "case",
    [
        ("hash-mismatch", "does not match its CodeSha256"),
        ("truncated", "truncated"),
        ("redirect", "redirected"),
        ("forbidden", "HTTP 403"),
        ("oversized", "above"),
    ],
)
def test_bad_downloads_are_error_reports(
    case: tuple[str, str],
    tmp_path: Path,
    trusted: CodeServer,
    lambda_stub: tuple[Stubber, StubSession],
    make_options: Callable[..., Any],
) -> None:
    stubber, session = lambda_stub
    how, words = case
    data = function_zip()
    trusted.put(f"{how}.zip", data)
    sha, size = code_sha256(data), len(data)
    kind = {"truncated": "truncated", "redirect": "redirect", "forbidden": "forbidden"}.get(
        how, "code"
    )
    if how == "hash-mismatch":
        sha = code_sha256(data + b"tampered")
    if how == "oversized":
        size = len(data) // 2  # Lambda's CodeSize bounds the download
    answer(stubber, trusted.url(kind, f"{how}.zip"), sha, size)
    outcome = scan(tmp_path, session, make_options(), CodeRequest(KIND_LAMBDA_ZIP, f"{FUNCTION}:3"))
    assert_error_and_contained(outcome, tmp_path, words)
    assert not (tmp_path / "work" / "lambda-root").exists()  # nothing unverified was unpacked


def test_an_untrusted_certificate_is_an_error_report(
    tmp_path: Path,
    code_server: CodeServer,
    lambda_stub: tuple[Stubber, StubSession],
    make_options: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    stubber, session = lambda_stub
    data = function_zip()
    answer(stubber, code_server.put("tls.zip", data), code_sha256(data), len(data))
    outcome = scan(tmp_path, session, make_options(), CodeRequest(KIND_LAMBDA_ZIP, f"{FUNCTION}:3"))
    assert_error_and_contained(outcome, tmp_path, "SSLError")


def test_zip_reading_itself_is_a_valid_check() -> None:
    assert zipfile.is_zipfile(io.BytesIO(overlapping_bomb()))


def test_a_later_layers_file_replaces_an_earlier_link_without_following_it(tmp_path: Path) -> None:
    budget, root = Budget(), tmp_path / "opt"
    first = tmp_path / "1.zip"
    first.write_bytes(make_zip([file("data/real.txt", "original"), link("conf", "data/real.txt")]))
    unpack(first, root, budget, "layer 1")
    second = tmp_path / "2.zip"
    second.write_bytes(make_zip([file("conf", "replaced")]))
    unpack(second, root, budget, "layer 2")
    assert not (root / "conf").is_symlink() and (root / "conf").read_text() == "replaced"
    assert (root / "data" / "real.txt").read_text() == "original"


def test_many_files_are_written_by_the_writer_threads(tmp_path: Path) -> None:
    archive = tmp_path / "many.zip"
    archive.write_bytes(make_zip([file(f"d{i % 7}/f{i}.py", f"v = {i}\n") for i in range(60)]))
    assert unpack(archive, tmp_path / "t", Budget(), "function") == 60
    assert (tmp_path / "t" / "d3" / "f59.py").read_text() == "v = 59\n"


@pytest.mark.parametrize("entries", [3, 60])  # the sequential and the threaded writer
def test_a_corrupt_entry_is_refused_not_a_crash(tmp_path: Path, entries: int) -> None:
    data = bytearray(make_zip([file(f"f{i}.txt", f"line {i}\n" * 400) for i in range(entries)]))
    data[30 + len("f0.txt")] = 0xFF  # the first entry's deflate stream: an invalid block type
    archive = tmp_path / "corrupt.zip"
    archive.write_bytes(bytes(data))
    with pytest.raises(PullError, match=r"cannot be unpacked: .*invalid block type"):
        unpack(archive, tmp_path / "t", Budget(), "function")
