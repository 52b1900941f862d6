"""Zip Lambda code as scan targets: what `lambda:GetFunction` / `GetLayerVersionByArn` say.

One small seam the dispatcher, the runner, the sweep and the gates share: given a Lambda client
(in the owning account) and a function or layer version ARN, the code to scan with its hash
(`CodeSha256`, base64 as Lambda gives it; `code_key` turns it into the scan-cache key) and, for
the runner, the presigned download URL. Nothing here downloads anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dispatcher.aws import aws_call
from dispatcher.buildvars import (
    CODE_SHA256_RE,
    KIND_LAMBDA_LAYER,
    KIND_LAMBDA_ZIP,
    LAMBDA_ARN_RE,
    LAYER_ARN_RE,
    MAX_LAYERS,
)
from dispatcher.errors import LookupFailed
from dispatcher.events import items, obj, text

PACKAGE_ZIP = "Zip"
_NOT_FOUND = frozenset({"ResourceNotFoundException", "InvalidParameterValueException"})


@dataclass(frozen=True)
class CodeTarget:
    """One zip package to scan: a function's code or a layer version's content."""

    kind: str  # KIND_LAMBDA_ZIP | KIND_LAMBDA_LAYER
    arn: str  # the function ARN (qualified by its version when known) or the layer version ARN
    code_sha256: str  # base64, as Lambda reports it
    location: str = ""  # presigned URL, valid ~10 minutes ("" when Lambda gave none)
    size: int | None = None
    runtime: str = ""
    version: str = ""


@dataclass(frozen=True)
class FunctionCode:
    """A function as deployed: its code, or why it is not zip code we scan."""

    function_arn: str
    package_type: str
    code: CodeTarget | None  # None for image functions
    layers: tuple[str, ...] = ()  # layer version ARNs, in the function's order


def split_function_arn(arn: str) -> tuple[str, str | None]:
    """(unqualified ARN, qualifier or None); LookupFailed unless it is a function ARN."""
    if not LAMBDA_ARN_RE.match(arn):
        raise LookupFailed(f"not a Lambda function ARN: {arn[:200]!r}", retryable=False)
    parts = arn.split(":")
    return (":".join(parts[:7]), parts[7]) if len(parts) == 8 else (arn, None)


def function_code(client: Any, arn: str, qualifier: str | None = None) -> FunctionCode:
    """`lambda:GetFunction` of a function (ARN, optionally qualified): its zip code and layers.

    LookupFailed (retryable unless the function is gone) for a failed call or a hostile answer.
    """
    base, in_arn = split_function_arn(arn)
    qualifier = qualifier or in_arn
    kwargs = {"FunctionName": base} | ({"Qualifier": qualifier} if qualifier else {})
    answer = _call(f"lambda:GetFunction {arn[:160]}", client.get_function, **kwargs)
    config, code = obj(answer, "Configuration"), obj(answer, "Code")
    package = text(config, "PackageType") or PACKAGE_ZIP  # older functions carry no PackageType
    version = text(config, "Version") or ""
    qualified = f"{base}:{version}" if version and version != "$LATEST" else base
    layers = tuple(
        str(layer["Arn"])
        for layer in items(config, "Layers")
        if isinstance(layer, dict) and LAYER_ARN_RE.match(str(layer.get("Arn", "")))
    )
    if len(layers) > MAX_LAYERS:
        raise LookupFailed(f"{arn[:160]} names {len(layers)} layers", retryable=False)
    if package != PACKAGE_ZIP:
        return FunctionCode(qualified, package, None, layers)
    sha = _code_sha(text(config, "CodeSha256"), arn)
    target = CodeTarget(
        kind=KIND_LAMBDA_ZIP,
        arn=qualified,
        code_sha256=sha,
        location=text(code, "Location") or "",
        size=_size(config.get("CodeSize")),
        runtime=text(config, "Runtime") or "",
        version=version,
    )
    return FunctionCode(qualified, package, target, layers)


def layer_code(client: Any, arn: str) -> CodeTarget:
    """`lambda:GetLayerVersionByArn` of a layer version: its content's hash and location."""
    if not LAYER_ARN_RE.match(arn):
        raise LookupFailed(f"not a Lambda layer version ARN: {arn[:200]!r}", retryable=False)
    answer = _call(f"lambda:GetLayerVersionByArn {arn[:160]}", client.get_layer_version_by_arn,
                   Arn=arn)  # fmt: skip
    content = obj(answer, "Content")
    runtimes = [r for r in items(answer, "CompatibleRuntimes") if isinstance(r, str)]
    return CodeTarget(
        kind=KIND_LAMBDA_LAYER,
        arn=text(answer, "LayerVersionArn") or arn,
        code_sha256=_code_sha(text(content, "CodeSha256"), arn),
        location=text(content, "Location") or "",
        size=_size(content.get("CodeSize")),
        runtime=",".join(runtimes[:8]),
        version=str(answer.get("Version", "")),
    )


def _code_sha(value: str | None, arn: str) -> str:
    if value is None or not CODE_SHA256_RE.match(value):
        raise LookupFailed(f"{arn[:160]} has no valid CodeSha256", retryable=False)
    return value


def _size(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _call(what: str, method: Any, **kwargs: Any) -> dict[str, Any]:
    answer = aws_call(what, method, not_found=_NOT_FOUND, **kwargs)
    return answer if isinstance(answer, dict) else {}
