"""scripts/package.py: what goes into each zip, reproducibility, refusals."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from package import PackageError, build_all, main, runner_members

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
