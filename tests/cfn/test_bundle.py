"""The runner bundle, installed on its own with no index reachable, runs a scan; it carries no
devtools; one changed byte in one wheel and nothing installs.

The bundle is built with scripts/package.py for this machine's platform from the wheel cache
(`make wheelhouse`), unpacked, and installed by its own buildspecs/install_runner.py into a fresh
venv, with bogus index URLs in the environment. The venv then holds everything the runner
imports: nothing is borrowed from this checkout's venv. Nothing here reaches the network.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from package import build_all
from wheelhouse import host_target

from tests.runner.archives import build_oci_archive

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
NOT_BUNDLED = (
    "deployscan demo: the demo is not part of the runner bundle; run it from a clone with make demo"
)
# The workshop, where it lives now and where it lived while it still shipped.
DEVTOOLS_MODULES = (
    "scanner_runner.devtools",
    "scanner_runner.devtools.localbuild",
    "scanner_runner.devtools.demo",
    "scanner_runner.devtools.imagebuild",
    "scanner_runner.devtools.localregistry",
    "scanner_runner.localbuild",
    "scanner_runner.demo",
    "scanner_runner.imagebuild",
    "scanner_runner.localregistry",
)
PROBE = """
import importlib, json, sys
import boto3, dispatcher, scanner_runner
found = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
        found[name] = "imported"
    except ModuleNotFoundError:
        found[name] = "missing"
files = [scanner_runner.__file__, dispatcher.__file__, boto3.__file__]
print(json.dumps({"files": files, "found": found}))
"""
BOGUS = "http://127.0.0.1:9/simple"  # nothing listens there: an install that needs it fails


@dataclass(frozen=True)
class Installed:
    """The built bundle, where it was unpacked, and a fresh venv holding only what it installs."""

    bundle: Path
    unpacked: Path
    venv: Path
    env: dict[str, str]

    def run(self, *argv: str, **extra: str) -> subprocess.CompletedProcess[str]:
        """Run a program from the fresh venv's bin, outside the checkout."""
        return subprocess.run(
            [str(self.venv / "bin" / argv[0]), *argv[1:]],
            cwd=self.venv.parent,
            env={**self.env, **extra},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def offline_env(home: Path) -> dict[str, str]:
    """No inherited settings, and every package index a bogus one."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "TMPDIR": str(home),
        "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "PIP_INDEX_URL": BOGUS,
        "PIP_EXTRA_INDEX_URL": BOGUS,
        "UV_INDEX_URL": BOGUS,
        "UV_DEFAULT_INDEX": BOGUS,
    }


def install(
    unpacked: Path, venv: Path, env: dict[str, str], *extra: str
) -> subprocess.CompletedProcess[str]:
    """Run the bundle's own installer from its root, as the buildspec does."""
    return subprocess.run(
        [sys.executable, "buildspecs/install_runner.py", str(venv), *extra],
        cwd=unpacked,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    tmp = tmp_path_factory.mktemp("bundle")
    runner = {a.name: a for a in build_all(ROOT, tmp / "out", (host_target(),))}["runner"]
    with zipfile.ZipFile(runner.path) as archive:
        archive.extractall(tmp / "unpacked")
    env = offline_env(tmp)
    done = install(tmp / "unpacked", tmp / "fresh", env, "--syft")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "from the bundle (no index)" in done.stdout
    env["PATH"] = f"{tmp / 'fresh' / 'bin'}:{env['PATH']}"
    return Installed(runner.path, tmp / "unpacked", tmp / "fresh", env)


def test_the_bundle_has_no_devtools_member_and_pins_every_wheel(installed: Installed) -> None:
    with zipfile.ZipFile(installed.bundle) as archive:
        names = archive.namelist()
    assert "scanner_runner/cli/scan.py" in names and "buildspecs/scan.yml" in names
    assert "buildspecs/install_runner.py" in names
    assert [n for n in names if "devtools" in n] == []
    wheels = [n for n in names if n.endswith(".whl")]
    assert "wheelhouse/deployscan-0.1.0-py3-none-any.whl" in wheels
    pinned = (installed.unpacked / "wheelhouse" / "requirements.txt").read_text()
    assert pinned.rstrip().splitlines()[-1].startswith("deployscan==0.1.0 --hash=sha256:")
    with zipfile.ZipFile(
        installed.unpacked / "wheelhouse" / "deployscan-0.1.0-py3-none-any.whl"
    ) as w:
        assert [n for n in w.namelist() if "devtools" in n] == []


def test_the_installed_bundle_imports_only_from_the_fresh_venv(installed: Installed) -> None:
    done = installed.run("python", "-c", PROBE, *DEVTOOLS_MODULES)
    assert done.returncode == 0, done.stderr
    probe = json.loads(done.stdout)
    for file in probe["files"]:  # the bundle's code and its pinned boto3, not this checkout's
        assert Path(file).resolve().is_relative_to(installed.venv.resolve()), file
    assert probe["found"] == dict.fromkeys(DEVTOOLS_MODULES, "missing")


def test_the_installed_bundle_scans_an_image_with_its_own_syft(
    installed: Installed, tmp_path: Path
) -> None:
    archive = build_oci_archive(tmp_path / "app.tar")
    out = tmp_path / "out"
    done = installed.run(
        "deployscan", "scan", "--archive", str(archive.path), "--output-dir", str(out),
        "--no-publish", SCANNER="syft", SYFT_CHECK_FOR_APP_UPDATE="false",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["status"] == "passed"
    assert report["scanner"]["name"] == "syft"
    assert shutil.which("syft", path=installed.env["PATH"]) == str(installed.venv / "bin" / "syft")


def test_demo_from_the_bundle_says_so_in_one_line(installed: Installed) -> None:
    done = installed.run("deployscan", "demo")
    assert (done.returncode, done.stdout, done.stderr) == (2, "", NOT_BUNDLED + "\n")


def test_one_changed_byte_in_one_wheel_and_the_install_fails(
    installed: Installed, tmp_path: Path
) -> None:
    copy = shutil.copytree(installed.unpacked, tmp_path / "unpacked")
    (wheel,) = (copy / "wheelhouse").glob("six-*.whl")
    data = bytearray(wheel.read_bytes())
    data[10] ^= 0x01  # the first entry's time stamp: still a readable zip, another sha256
    wheel.write_bytes(bytes(data))
    venv = tmp_path / "venv"
    done = install(copy, venv, offline_env(tmp_path))
    assert done.returncode == 1
    assert "Hash mismatch for `six==" in done.stderr
    assert not (venv / "bin" / "deployscan").exists()
