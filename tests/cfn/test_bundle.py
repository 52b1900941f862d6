"""The runner bundle, installed on its own, runs a build's command and carries no devtools.

The bundle is built with scripts/package.py, unpacked, turned into a wheel by this venv's pip
(no build isolation, no index) and installed into a fresh venv. The fresh venv borrows the
third-party packages from this venv through PYTHONPATH (a folder of links that leaves this
checkout's editable install and its metadata out), so only the bundle's own code is importable.
Nothing here reaches the network.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from package import build_all

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
import dispatcher, scanner_runner
found = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
        found[name] = "imported"
    except ModuleNotFoundError:
        found[name] = "missing"
print(json.dumps({"files": [scanner_runner.__file__, dispatcher.__file__], "found": found}))
"""


@dataclass(frozen=True)
class Installed:
    """The built bundle and a fresh venv holding only what it installs."""

    bundle: Path
    venv: Path
    env: dict[str, str]

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """Run a program from the fresh venv's bin, outside the checkout."""
        return subprocess.run(
            [str(self.venv / "bin" / argv[0]), *argv[1:]],
            cwd=self.venv.parent,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def _pip(*args: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", PIP_CONFIG_FILE=os.devnull)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--quiet", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def _borrowed_site_packages(target: Path) -> Path:
    """Links to this venv's third-party packages, without deployscan's own install."""
    target.mkdir()
    site = Path(sysconfig.get_paths()["purelib"])
    for entry in site.iterdir():
        if entry.name.startswith(("deployscan", "__editable__")) or entry.suffix == ".pth":
            continue
        (target / entry.name).symlink_to(entry)
    return target


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    tmp = tmp_path_factory.mktemp("bundle")
    runner = {a.name: a for a in build_all(ROOT, tmp / "out")}["runner"]
    with zipfile.ZipFile(runner.path) as archive:
        archive.extractall(tmp / "unpacked")
    _pip("wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--wheel-dir", str(tmp / "wheels"), str(tmp / "unpacked"))  # fmt: skip
    (wheel,) = (tmp / "wheels").glob("deployscan-*.whl")
    venv = tmp / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    _pip("--python", str(venv / "bin" / "python"), "install", "--no-deps", "--no-index", str(wheel))
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "PYTHONPATH": str(_borrowed_site_packages(tmp / "borrowed")),
        "PYTHONNOUSERSITE": "1",
        "HOME": str(tmp),
        "LANG": "C.UTF-8",
    }
    return Installed(runner.path, venv, env)


def test_the_bundle_has_no_devtools_member(installed: Installed) -> None:
    with zipfile.ZipFile(installed.bundle) as archive:
        names = archive.namelist()
    assert "scanner_runner/cli/scan.py" in names and "buildspecs/scan.yml" in names
    assert [n for n in names if "devtools" in n] == []


def test_the_installed_bundle_runs_the_build_command(installed: Installed) -> None:
    done = installed.run("deployscan", "scan", "--help")
    assert done.returncode == 0, done.stderr
    assert "Usage: deployscan scan" in done.stdout


def test_the_installed_bundle_imports_from_the_fresh_venv_without_devtools(
    installed: Installed,
) -> None:
    done = installed.run("python", "-c", PROBE, *DEVTOOLS_MODULES)
    assert done.returncode == 0, done.stderr
    probe = json.loads(done.stdout)
    for file in probe["files"]:  # the bundle's code, not this checkout's editable install
        assert Path(file).resolve().is_relative_to(installed.venv.resolve()), file
    assert probe["found"] == dict.fromkeys(DEVTOOLS_MODULES, "missing")


def test_demo_from_the_bundle_says_so_in_one_line(installed: Installed) -> None:
    done = installed.run("deployscan", "demo")
    assert (done.returncode, done.stdout, done.stderr) == (2, "", NOT_BUNDLED + "\n")
