"""The layout's rules, checked on the source: no import cycles, contracts spelled once.

A build-variable name, a scan-cache attribute or an exit code is spelled in its contract module
only (`dispatcher/buildvars.py`, `dispatcher/scancache/`, `dispatcher/exitcodes.py`); only the
scan-cache class talks to DynamoDB items; modules stay small.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from dispatcher.buildvars import BUILD_VARIABLES, EXPORTED_VARIABLES

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("dispatcher", "scanner_runner")
MAX_LINES = 310
# Attribute names of the scan-cache item that mean nothing else in the code base.
CACHE_ATTRIBUTES = (
    "pk",
    "lease_id",
    "lease_expires_at",
    "expires_at",
    "completed_at",
    "in-flight",
    "vuln_data",
)
DYNAMODB_ITEM_CALLS = frozenset(
    {"put_item", "update_item", "delete_item", "get_item", "query", "batch_get_item"}
)


def modules() -> Iterator[tuple[str, Path]]:
    """(dotted name, path) of every module of both packages."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            yield name, path


def imports_of(name: str, tree: ast.Module) -> set[str]:
    """Project modules a module imports, anywhere in it (function bodies and TYPE_CHECKING too)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    known = {n for n, _ in modules()}
    return {m for m in found if m in known and m != name}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as a path that returns to its start, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycles() -> None:
    graph = {name: imports_of(name, ast.parse(path.read_text())) for name, path in modules()}
    # a package's __init__ importing its own submodules is how packages expose names, not a knot
    graph = {
        name: {m for m in imported if not name.startswith(m + ".")}
        for name, imported in graph.items()
    }
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def string_constants(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, value) of every string constant that is not a docstring."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        if id(node) not in docstrings:
            yield node.lineno, node.value


@pytest.mark.parametrize(
    ("owner", "names"),
    [
        ("dispatcher.buildvars", (*BUILD_VARIABLES, *EXPORTED_VARIABLES)),
        ("dispatcher.scancache", CACHE_ATTRIBUTES),
    ],
)
def test_contract_names_are_spelled_in_their_module_only(
    owner: str, names: tuple[str, ...]
) -> None:
    offenders = [
        f"{name}:{line}: {value!r}"
        for name, path in modules()
        if name != owner and not name.startswith(f"{owner}.")
        for line, value in string_constants(ast.parse(path.read_text()))
        if value in names
    ]
    assert offenders == []


def test_only_the_scan_cache_class_touches_dynamodb_items() -> None:
    offenders = [
        f"{name}:{node.lineno}: {node.attr}"
        for name, path in modules()
        if name != "dispatcher.scancache" and not name.startswith("dispatcher.scancache.")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute) and node.attr in DYNAMODB_ITEM_CALLS
    ]
    assert offenders == []


def test_exit_codes_are_one_enum() -> None:
    offenders = [
        f"{name}:{node.lineno}"
        for name, path in modules()
        if name != "scanner_runner.scanners.qscanner"  # QScanner's own exit codes, not ours
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Assign)
        for target in node.targets
        for t in ([*target.elts] if isinstance(target, ast.Tuple) else [target])
        if isinstance(t, ast.Name) and t.id.startswith("EXIT_")
    ]
    assert offenders == []


def test_modules_stay_small() -> None:
    big = {
        name: lines
        for name, path in modules()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert big == {}
