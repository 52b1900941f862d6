"""buildspecs/install_runner.py: uv is unpacked only from a wheel the bundle pins; no wheelhouse,
no install. (The whole install is proven offline in tests/cfn/test_bundle.py.)"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import platform
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARCH = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(), platform.machine())


@pytest.fixture(scope="module")
def installer() -> ModuleType:
    """The installer as the build runs it: a script, loaded from its file."""
    spec = importlib.util.spec_from_file_location(
        "install_runner", ROOT / "buildspecs/install_runner.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def uv_wheel(binary: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("uv-0.1.data/scripts/uv", binary)
        archive.writestr("uv-0.1.dist-info/WHEEL", "Wheel-Version: 1.0\n")
    return buffer.getvalue()


@pytest.fixture
def wheelhouse(tmp_path: Path) -> Path:
    folder = tmp_path / "wheelhouse"
    folder.mkdir()
    data = uv_wheel(b"#!/bin/sh\necho uv\n")
    (folder / f"uv-0.1-py3-none-manylinux2014_{ARCH}.whl").write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    (folder / "uv.txt").write_text(f"uv==0.1 \\\n    --hash=sha256:{digest}\n")
    return folder


def test_a_pinned_uv_wheel_is_unpacked_executable(
    installer: ModuleType, wheelhouse: Path, tmp_path: Path
) -> None:
    (tmp_path / "bin").mkdir()
    uv = installer.unpack_uv(wheelhouse, tmp_path / "bin")
    assert uv == tmp_path / "bin" / "uv"
    assert uv.read_bytes() == b"#!/bin/sh\necho uv\n" and uv.stat().st_mode & 0o111


def test_a_uv_wheel_the_bundle_does_not_pin_is_refused(
    installer: ModuleType, wheelhouse: Path, tmp_path: Path
) -> None:
    (wheel,) = wheelhouse.glob("uv-*.whl")
    wheel.write_bytes(uv_wheel(b"#!/bin/sh\necho something else\n"))
    (tmp_path / "bin").mkdir()
    with pytest.raises(installer.InstallError, match=r"sha256 is not one wheelhouse/uv\.txt pins"):
        installer.unpack_uv(wheelhouse, tmp_path / "bin")
    assert not (tmp_path / "bin" / "uv").exists()


def test_a_bundle_without_a_wheelhouse_installs_nothing(
    installer: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert installer.main([str(tmp_path / "venv")]) == 1
    assert "this bundle has no wheelhouse" in capsys.readouterr().err
    assert not (tmp_path / "venv").exists()
