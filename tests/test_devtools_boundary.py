"""The runtime packages never import `scanner_runner.devtools` at module level.

The runner bundle leaves devtools out, so a module-level import of it from `dispatcher/` or the
rest of `scanner_runner/` would break every build. Imports inside a function (as `deployscan demo`
does, after checking devtools is there) are allowed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEVTOOLS = "scanner_runner.devtools"
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def runtime_modules() -> list[Path]:
    """Every .py file a build runs: dispatcher/ and scanner_runner/, devtools/ left out."""
    devtools = ROOT / "scanner_runner" / "devtools"
    found = [
        *ROOT.joinpath("dispatcher").rglob("*.py"),
        *ROOT.joinpath("scanner_runner").rglob("*.py"),
    ]
    return sorted(p for p in found if not p.is_relative_to(devtools))


def module_level_imports(node: ast.AST) -> Iterator[str]:
    """Dotted names imported outside any function body (also under `if`, `try`, class bodies)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, FUNCTIONS):
            continue
        if isinstance(child, ast.Import):
            yield from (alias.name for alias in child.names)
        elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
            yield child.module
            yield from (f"{child.module}.{alias.name}" for alias in child.names)
        yield from module_level_imports(child)


def test_runtime_modules_do_not_import_devtools() -> None:
    modules = runtime_modules()
    assert len(modules) > 40
    offenders = sorted(
        f"{path.relative_to(ROOT)}: {name}"
        for path in modules
        for name in module_level_imports(ast.parse(path.read_text(), str(path)))
        if name == DEVTOOLS or name.startswith(f"{DEVTOOLS}.")
    )
    assert not offenders, offenders


def test_the_check_sees_a_module_level_import() -> None:
    tree = ast.parse(
        "import os\n"
        "try:\n    from scanner_runner.devtools import imagebuild\nexcept ImportError:\n    pass\n"
        "def lazy():\n    from scanner_runner.devtools.demo import run\n"
    )
    names = set(module_level_imports(tree))
    assert "scanner_runner.devtools.imagebuild" in names
    assert "scanner_runner.devtools.demo" not in names
