"""Extractors for zip Lambda code: function code deploys, published layers, layer changes.

`CreateFunction…`/`UpdateFunctionCode…` of a Zip function name the function and (in the
response) its `codeSha256`; `PublishLayerVersion…` names the layer version and its content's
`codeSha256`; `UpdateFunctionConfiguration…` with a `layers` list names the layers the function
uses from now on (the event has no earlier list: the scan cache's code-hash items leave the
layers already scanned out, so only new code is built). A configuration update without
`layers` changes no code and starts nothing.
"""

from __future__ import annotations

from dataclasses import replace

from dispatcher import model as m
from dispatcher.aws import partition
from dispatcher.buildvars import (
    CODE_KINDS,
    CODE_SHA256_RE,
    KIND_LAMBDA_LAYER,
    KIND_LAMBDA_ZIP,
    LAMBDA_ARN_RE,
    LAYER_ARN_RE,
    MAX_LAYERS,
)
from dispatcher.events import CloudTrailCall, Target, ZipTarget, items, obj, text


def zip_function(call: CloudTrailCall, origin: m.Origin) -> list[Target | m.Skip]:
    """A Zip function's new code: its (qualified, when published) ARN and code hash."""
    arn = text(call.response, "functionArn") or _function_arn(call)
    if arn is None or not LAMBDA_ARN_RE.match(arn):
        code = m.Code(KIND_LAMBDA_ZIP, str(arn)[:200]) if arn else None
        return [m.Skip(origin, m.INVALID_EVENT, detail="no valid function ARN", code=code)]
    origin = replace(origin, resource_arn=arn)
    return [ZipTarget(origin, KIND_LAMBDA_ZIP, arn, _sha(text(call.response, "codeSha256")))]


def published_layer(call: CloudTrailCall, origin: m.Origin) -> list[Target | m.Skip]:
    """PublishLayerVersion…: the new layer version and its content's hash."""
    arn = text(call.response, "layerVersionArn")
    if arn is None or not LAYER_ARN_RE.match(arn):
        return [m.Skip(origin, m.INVALID_EVENT, detail="no valid layerVersionArn")]
    sha = _sha(text(obj(call.response, "content"), "codeSha256"))
    return [ZipTarget(replace(origin, resource_arn=arn), KIND_LAMBDA_LAYER, arn, sha)]


def layer_change(call: CloudTrailCall, origin: m.Origin) -> list[Target | m.Skip]:
    """UpdateFunctionConfiguration…: each layer the call sets; none when it sets no layers."""
    origin = replace(origin, resource_arn=text(call.response, "functionArn"))
    if "layers" not in call.request:
        return [m.Skip(origin, m.CONFIGURATION_ONLY)]
    layers = items(call.request, "layers")
    if len(layers) > MAX_LAYERS:
        return [m.Skip(origin, m.INVALID_EVENT, detail=f"{len(layers)} layers")]
    hashes = {
        text(layer, "arn"): text(layer, "codeSha256")
        for layer in items(call.response, "layers")
        if isinstance(layer, dict)
    }
    out: list[Target | m.Skip] = []
    for arn in layers:
        if not isinstance(arn, str) or not LAYER_ARN_RE.match(arn):
            out.append(m.Skip(origin, m.INVALID_EVENT, detail="a layer is not a layer ARN"))
            continue
        out.append(ZipTarget(origin, KIND_LAMBDA_LAYER, arn, _sha(hashes.get(arn))))
    if not out:
        out.append(m.Skip(origin, m.CONFIGURATION_ONLY, detail="the function now uses no layers"))
    return out


def swept_code(detail: dict[str, object], origin: m.Origin) -> list[Target | m.Skip]:
    """A `Sweep Image` for zip code the sweep found running: its kind, ARN and code hash
    (from ListFunctions / GetLayerVersionByArn), so nothing is looked up again."""
    kind, arn = text(detail, "kind"), text(detail, "arn")
    pattern = LAYER_ARN_RE if kind == KIND_LAMBDA_LAYER else LAMBDA_ARN_RE
    if kind not in CODE_KINDS or arn is None or not pattern.match(arn):
        return [m.Skip(origin, m.INVALID_EVENT, detail="no valid code ARN")]
    return [ZipTarget(origin, str(kind), arn, _sha(text(detail, "codeSha256")))]


def _function_arn(call: CloudTrailCall) -> str | None:
    """The request's functionName when it is already an ARN (a bare name needs the account)."""
    name = text(call.request, "functionName")
    if name and name.startswith("arn:"):
        return name
    if name and call.account and call.region:
        return f"arn:{partition(call.region)}:lambda:{call.region}:{call.account}:function:{name}"
    return None


def _sha(value: str | None) -> str | None:
    return value if value is not None and CODE_SHA256_RE.match(value) else None
