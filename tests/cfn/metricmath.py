"""A small evaluator of CloudWatch metric math: the operators the template's alarms use, for one
period. Each query's value is a number or None (no datapoint in the period).

CloudWatch's rules modelled here: arithmetic or a comparison with a missing operand has no
datapoint; `FILL(m, v)` gives v where m has none; `IF(c, a, b)` takes a where c is non-zero and b
where it is zero. A division by zero is taken as no datapoint (the cautious reading). The
expression is read with Python's parser (metric math's operators are a subset of Python's); any
other function or construct raises, so an alarm this evaluator cannot follow fails its test.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

_ARITHMETIC: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_COMPARE: dict[type[ast.cmpop], Callable[[float, float], bool]] = {
    ast.Gt: operator.gt,
    ast.Lt: operator.lt,
    ast.GtE: operator.ge,
    ast.LtE: operator.le,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
FUNCTIONS = {"FILL": 2, "IF": 3}  # name -> number of arguments


def parse(text: str) -> ast.expr:
    """The expression's tree; anything outside the supported grammar raises ValueError (an
    unknown function NotImplementedError)."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as error:
        raise ValueError(f"cannot read {text!r}: {error.msg}") from None
    _check(tree)
    return tree


def _check(node: ast.expr) -> None:
    for child in _operands(node):
        _check(child)


def _operands(node: ast.expr) -> list[ast.expr]:
    """The operands of a supported node; any other node raises."""
    if isinstance(node, ast.Name):
        return []
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise ValueError(f"not a number: {ast.unparse(node)}")
        return []
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return [node.operand]
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
        return [node.left, node.right]
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
        return [node.left, *node.comparators]
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
        if name not in FUNCTIONS:
            raise NotImplementedError(f"metric math function {name}")
        if node.keywords or len(node.args) != FUNCTIONS[name]:
            raise ValueError(f"{name} takes {FUNCTIONS[name]} arguments")
        return list(node.args)
    raise ValueError(f"not supported in metric math: {ast.unparse(node)}")


def ids(node: ast.expr) -> set[str]:
    """Every id the expression names."""
    found = {node.id} if isinstance(node, ast.Name) else set()
    for child in _operands(node):
        found |= ids(child)
    return found


def unfilled(node: ast.expr, names: set[str], inside_fill: bool = False) -> set[str]:
    """The ids of `names` used anywhere but as `FILL(id, 0)`."""
    if isinstance(node, ast.Name):
        return set() if inside_fill or node.id not in names else {node.id}
    if _function(node) == "FILL":
        target, fill = _operands(node)
        filled = isinstance(target, ast.Name) and isinstance(fill, ast.Constant) and fill.value == 0
        return unfilled(target, names, filled) | unfilled(fill, names)
    return set().union(*(unfilled(child, names) for child in _operands(node)))


def alarm_value(queries: Sequence[Mapping[str, Any]], values: Mapping[str, float]) -> float | None:
    """The value the alarm compares with its threshold for one period, None for no datapoint.

    `queries` is the alarm's `Metrics`; `values` holds the period's value of each MetricStat query
    that has a datapoint (the others have none)."""
    by_id = {q["Id"]: q for q in queries}
    (returned,) = [q for q in queries if q.get("ReturnData", True)]

    def value_of(query_id: str) -> float | None:
        query = by_id[query_id]
        if "MetricStat" in query:
            return values.get(query_id)
        return evaluate(parse(query["Expression"]), value_of)

    return value_of(returned["Id"])


def evaluate(node: ast.expr, lookup: Callable[[str], float | None]) -> float | None:
    """The node's value for one period; `lookup` gives an id's value."""
    if isinstance(node, ast.Name):
        return lookup(node.id)
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, int | float)  # parse() let numbers only through
        return float(node.value)
    return _apply(node, [evaluate(child, lookup) for child in _operands(node)])


def _apply(node: ast.expr, args: list[float | None]) -> float | None:
    name = _function(node)
    if name == "FILL":
        return args[1] if args[0] is None else args[0]
    if name == "IF":
        condition, yes, no = args
        return None if condition is None else (yes if condition != 0 else no)
    numbers = [arg for arg in args if arg is not None]
    return None if len(numbers) < len(args) else _operate(node, numbers)


def _operate(node: ast.expr, numbers: list[float]) -> float | None:
    if isinstance(node, ast.UnaryOp):
        return -numbers[0]
    left, right = numbers
    if isinstance(node, ast.Compare):
        return 1.0 if _COMPARE[type(node.ops[0])](left, right) else 0.0
    assert isinstance(node, ast.BinOp)
    if isinstance(node.op, ast.Div) and right == 0:
        return None  # no datapoint, the cautious reading
    return _ARITHMETIC[type(node.op)](left, right)


def _function(node: ast.expr) -> str | None:
    """The name of the metric math function `node` calls, None if it is no call."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id
    return None
