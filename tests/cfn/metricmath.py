"""A small evaluator of CloudWatch metric math: the operators the template's alarms use, for one
period. Each query's value is a number or None (no datapoint in the period).

CloudWatch's rules modelled here: arithmetic or a comparison with a missing operand has no
datapoint; `FILL(m, v)` gives v where m has none; `IF(c, a, b)` takes a where c is non-zero and b
where it is zero. A division by zero is taken as no datapoint (the cautious reading). Any other
function or operator raises, so an alarm this evaluator cannot follow fails its test.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(>=|<=|==|!=|[-+*/(),<>]))")
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    "<": operator.lt,
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
}
FUNCTIONS = {"FILL": 2, "IF": 3}  # name -> number of arguments


@dataclass(frozen=True)
class Node:
    """One node of a parsed expression: a number, an id, a function call or an operator."""

    kind: str  # num | id | call | op
    value: str
    args: tuple[Node, ...] = ()


def parse(text: str) -> Node:
    """The expression's tree; anything outside the supported grammar raises ValueError."""
    return _Parser(_tokens(text)).whole()


def ids(node: Node) -> set[str]:
    """Every id the expression names."""
    found = {node.value} if node.kind == "id" else set()
    for arg in node.args:
        found |= ids(arg)
    return found


def unfilled(node: Node, names: set[str], inside_fill: bool = False) -> set[str]:
    """The ids of `names` used anywhere but as `FILL(id, 0)`."""
    if node.kind == "id":
        return set() if inside_fill or node.value not in names else {node.value}
    if node.kind == "call" and node.value == "FILL":
        target, fill = node.args
        filled = target.kind == "id" and fill.kind == "num" and float(fill.value) == 0
        return unfilled(target, names, filled) | unfilled(fill, names)
    return set().union(*(unfilled(arg, names) for arg in node.args))


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


def evaluate(node: Node, lookup: Callable[[str], float | None]) -> float | None:
    """The node's value for one period; `lookup` gives an id's value."""
    if node.kind == "num":
        return float(node.value)
    if node.kind == "id":
        return lookup(node.value)
    args = [evaluate(arg, lookup) for arg in node.args]
    return _call(node.value, args) if node.kind == "call" else _operator(node.value, args)


def _call(name: str, args: list[float | None]) -> float | None:
    if name == "FILL":
        return args[1] if args[0] is None else args[0]
    condition, yes, no = args  # IF
    return None if condition is None else (yes if condition != 0 else no)


def _operator(op: str, args: list[float | None]) -> float | None:
    left, right = args
    if left is None or right is None:
        return None
    if op in _COMPARE:
        return 1.0 if _COMPARE[op](left, right) else 0.0
    if op == "/":
        return None if right == 0 else left / right
    return _ARITHMETIC[op](left, right)


def _tokens(text: str) -> list[str]:
    out, pos, end = [], 0, len(text.rstrip())
    while pos < end:
        match = _TOKEN.match(text, pos)
        if not match:
            raise ValueError(f"cannot read {text[pos:]!r}")
        out.append(next(g for g in match.groups() if g is not None))
        pos = match.end()
    return out


class _Parser:
    """Recursive descent: comparison < sum < product < unary < atom."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens, self.at = tokens, 0

    def whole(self) -> Node:
        node = self.comparison()
        if self.at != len(self.tokens):
            raise ValueError(f"unexpected {self.tokens[self.at]!r}")
        return node

    def peek(self) -> str:
        return self.tokens[self.at] if self.at < len(self.tokens) else ""

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if not token or (expected is not None and token != expected):
            raise ValueError(f"expected {expected or 'more'}, found {token!r}")
        self.at += 1
        return token

    def comparison(self) -> Node:
        left = self.binary(("+", "-"))
        if self.peek() in _COMPARE:
            op = self.take()
            return Node("op", op, (left, self.binary(("+", "-"))))
        return left

    def binary(self, ops: tuple[str, ...]) -> Node:
        lower = self.unary if ops == ("*", "/") else (lambda: self.binary(("*", "/")))
        node = lower()
        while self.peek() in ops:
            op = self.take()
            node = Node("op", op, (node, lower()))
        return node

    def unary(self) -> Node:
        if self.peek() == "-":
            self.take()
            return Node("op", "-", (Node("num", "0"), self.unary()))
        return self.atom()

    def atom(self) -> Node:
        token = self.take()
        if token == "(":
            node = self.comparison()
            self.take(")")
            return node
        if token[0].isdigit():
            return Node("num", token)
        if not (token[0].isalpha() or token[0] == "_"):
            raise ValueError(f"unexpected {token!r}")
        if self.peek() != "(":
            return Node("id", token)
        if token not in FUNCTIONS:
            raise NotImplementedError(f"metric math function {token}")
        self.take("(")
        args = [self.comparison()]
        while self.peek() == ",":
            self.take()
            args.append(self.comparison())
        self.take(")")
        if len(args) != FUNCTIONS[token]:
            raise ValueError(f"{token} takes {FUNCTIONS[token]} arguments")
        return Node("call", token, tuple(args))
