"""buildspecs/fetch-qscanner.sh: verify before it can run, every download shape, the cache."""

from __future__ import annotations

import gzip
import hashlib
import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from scanner_runner.devtools.demo.motoserver import MotoServer
from scanner_runner.devtools.localbuild.launcher import build_image_environment

SCRIPT = Path(__file__).resolve().parents[2] / "buildspecs" / "fetch-qscanner.sh"
BINARY = b"#!/bin/sh\necho qscanner 4.8.0\n"
SHA = hashlib.sha256(BINARY).hexdigest()


def tarball(member: str) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo(member)
        info.size = len(BINARY)
        tar.addfile(info, io.BytesIO(BINARY))
    return gzip.compress(raw.getvalue(), mtime=0)


def fetch(
    moto: MotoServer, tmp_path: Path, body: bytes | None, sha: str, url: str = ""
) -> tuple[int, str, str]:
    if body is not None:
        moto.client("s3").put_object(Bucket="artifacts", Key="deployscan/qscanner", Body=body)
    env = build_image_environment(moto.environment())
    env.update(HOME=str(tmp_path / "home"), QSCANNER_SHA256=sha,
               QSCANNER_URL=url or "s3://artifacts/deployscan/qscanner")  # fmt: skip
    done = subprocess.run(
        ["bash", str(SCRIPT)], check=False, env=env, capture_output=True, text=True, timeout=60
    )
    return done.returncode, done.stdout.strip(), done.stderr


@pytest.fixture
def moto(moto_server: MotoServer) -> MotoServer:
    moto_server.reset()
    moto_server.client("s3").create_bucket(Bucket="artifacts")
    return moto_server


@pytest.mark.parametrize(
    ("body", "sha"),
    [
        (BINARY, SHA),
        (gzip.compress(BINARY), SHA),
        (tarball("linux-amd64/qscanner"), SHA),
        (tarball("qscanner"), hashlib.sha256(tarball("qscanner")).hexdigest()),
    ],
    ids=["binary", "gzip", "tarball", "tarball-hash"],
)
def test_verified_download_is_installed_and_cached(
    moto: MotoServer, tmp_path: Path, body: bytes, sha: str
) -> None:
    code, path, _ = fetch(moto, tmp_path, body, sha)
    assert code == 0
    assert Path(path).read_bytes() == BINARY
    ran = subprocess.run([path], check=True, capture_output=True, text=True)
    assert ran.stdout == "qscanner 4.8.0\n"
    moto.client("s3").delete_object(Bucket="artifacts", Key="deployscan/qscanner")
    code, again, err = fetch(moto, tmp_path, None, sha)  # nothing to download: the cache serves
    assert (code, again) == (0, path) and "using cached QScanner" in err


@pytest.mark.parametrize(
    ("sha", "url", "message"),
    [
        ("0" * 64, "", "sha256 mismatch"),
        ("", "", "QSCANNER_SHA256 is missing"),
        (SHA.upper(), "", "QSCANNER_SHA256 is missing or not 64 lowercase hex"),
        (SHA, "http://example.com/qscanner", "must start with https:// or s3://"),
        (SHA, "s3://artifacts/missing", "download from QSCANNER_URL failed"),
    ],
)
def test_refusals_leave_nothing_runnable(
    moto: MotoServer, tmp_path: Path, sha: str, url: str, message: str
) -> None:
    code, path, err = fetch(moto, tmp_path, BINARY, sha, url)
    assert code != 0 and path == ""
    assert message in err
    cached = list((tmp_path / "home").rglob("qscanner")) if (tmp_path / "home").exists() else []
    assert cached == []
