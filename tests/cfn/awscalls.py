"""Which AWS API actions does the code call? Derived from the source, not listed by hand.

For an entry module, take its import closure inside the project (imports anywhere in a module,
plus the `__init__` of every package on the way, as Python runs them). In that closure:
- the services are the string constants passed as first argument to a `…client(...)` call
  (`session.client("ecs")`, `self._client("lambda", …)`);
- the operations are the attribute names used on anything (`x.start_build(...)`, a bound
  `client.get_function` handed to a helper, and the operation named in `get_paginator("…")`)
  that are boto3 methods of one of those services,
  mapped to IAM actions with botocore's own `method_to_api_mapping`.
A method of ours that happens to share a boto3 name must be listed in NOT_AWS (test-checked).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import botocore.session

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("dispatcher", "scanner_runner")
# boto3 helpers that are not API operations but call one (s3transfer, injected by boto3).
S3_TRANSFER = {
    "upload_file": "PutObject",
    "upload_fileobj": "PutObject",
    "download_file": "GetObject",
    "download_fileobj": "GetObject",
}
# API operations authorised by an IAM action of another name (AWS Lambda API reference,
# GetLayerVersionByArn: "lambda:GetLayerVersion"; the service authorization reference has no
# GetLayerVersionByArn action; SQS authorises SendMessageBatch as sqs:SendMessage).
IAM_ACTION = {
    "lambda:GetLayerVersionByArn": "lambda:GetLayerVersion",
    "sqs:SendMessageBatch": "sqs:SendMessage",
}


@cache
def operations(service: str) -> dict[str, str]:
    """boto3 method name -> API operation name for one service."""
    client = botocore.session.get_session().create_client(
        service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    mapping = dict(client.meta.method_to_api_mapping)
    if service == "s3":
        mapping |= S3_TRANSFER
    return mapping


@cache
def _known_services() -> frozenset[str]:
    return frozenset(botocore.session.get_session().get_available_services())


def module_path(name: str) -> Path | None:
    """The file of a project module (`a.b` -> a/b.py or a/b/__init__.py), None if not ours."""
    if name.split(".", maxsplit=1)[0] not in PACKAGES:
        return None
    base = ROOT.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imports(tree: ast.AST) -> Iterable[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def closure(entry: str) -> dict[str, ast.AST]:
    """Module name -> parsed tree, for entry and everything of ours it imports (transitively)."""
    seen: dict[str, ast.AST] = {}
    todo = [entry]
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # parents' __init__ run first
            mod = ".".join(parts[:i])
            path = module_path(mod)
            if path is None or mod in seen:
                continue
            seen[mod] = ast.parse(path.read_text(), filename=str(path))
            todo.extend(_imports(seen[mod]))
    return seen


@dataclass(frozen=True)
class Calls:
    """What a set of modules does with AWS."""

    services: frozenset[str]
    method_names: frozenset[str]  # every attribute name, AWS or not

    def actions(self, not_aws: Iterable[str] = ()) -> frozenset[str]:
        """IAM actions (`service:Operation`) of the boto3 methods called on the services used."""
        skip = set(not_aws)
        found = set()
        for name in self.method_names - skip:
            for service in self.services:
                api = operations(service).get(name)
                if api:
                    action = f"{service}:{api}"
                    found.add(IAM_ACTION.get(action, action))
        return frozenset(found)


def calls_in(trees: Iterable[ast.AST]) -> Calls:
    """Services (client constructors) and method names in some parsed modules.

    Every attribute name counts, called or not: a bound method handed to a retry helper
    (`self._call(client.get_function, …)`) is a call too.
    """
    services, names = set(), set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                names.add(node.attr)
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            attr = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0] if node.args else None
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                continue
            if attr.endswith("client") and first.value in _known_services():
                services.add(first.value)
            if attr == "get_paginator":
                names.add(first.value)
    return Calls(frozenset(services), frozenset(names))
