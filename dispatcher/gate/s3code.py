"""A CloudFormation `AWS::Lambda::Function` of zip code, as the gate can check it before the
function exists: inline `Code.ZipFile`, or `Code.S3Bucket`/`S3Key`(/`S3ObjectVersion`) read from
S3 and hashed the way Lambda computes `CodeSha256` (base64 of the SHA-256 of the zip's bytes),
plus each layer version in `Layers`. Only buckets named in GATE_CODE_BUCKETS are read.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

from dispatcher.buildvars import KIND_LAMBDA_ZIP, LAYER_ARN_RE, MAX_LAYERS
from dispatcher.errors import LookupFailed, aws_error_code
from dispatcher.events import items, obj, text
from dispatcher.gate.code import GateCode, layer_codes
from dispatcher.gate.settings import GateSettings
from dispatcher.gate.verdict import GateVerdict, on_error, on_timeout

# Lambda refuses a package over 250 MiB unzipped; its zip is never larger, so neither is a
# package it would accept from S3. Past this the object is not Lambda code: GATE_ON_ERROR.
MAX_CODE_BYTES = 262_144_000
CHUNK_BYTES = 1 << 20
INLINE_NOTE = "inline Code.ZipFile source (at most 4 KB, no packaged dependencies): nothing to scan"


def s3_code_sha256(s3: Any, bucket: str, key: str, version: str | None) -> str:
    """`CodeSha256` of an S3 object as Lambda will compute it, streamed in 1 MiB chunks and
    bounded by MAX_CODE_BYTES; LookupFailed when it cannot be read or is too large."""
    where = f"s3://{bucket}/{key[:200]}"
    request = {"Bucket": bucket, "Key": key} | ({"VersionId": version} if version else {})
    try:
        answer = s3.get_object(**request)
    except Exception as exc:  # botocore errors, wrapped once at this seam
        raise LookupFailed(f"s3:GetObject {where} failed: {aws_error_code(exc)}") from exc
    size = answer.get("ContentLength")
    body = answer["Body"]
    digest, total = hashlib.sha256(), 0
    try:
        if isinstance(size, int) and size > MAX_CODE_BYTES:
            raise LookupFailed(f"{where} is {size} bytes, over Lambda's {MAX_CODE_BYTES}")
        for chunk in iter(lambda: body.read(CHUNK_BYTES), b""):
            total += len(chunk)
            if total > MAX_CODE_BYTES:
                raise LookupFailed(f"{where} is over Lambda's {MAX_CODE_BYTES} bytes")
            digest.update(chunk)
    finally:
        body.close()
    return base64.b64encode(digest.digest()).decode("ascii")


def function_codes(
    properties: dict[str, Any], client: Callable[[str], Any], gate: GateSettings
) -> tuple[list[GateCode], list[GateVerdict]]:
    """(code hashes to look up, verdicts already known) for a zip function's properties."""
    code = obj(properties, "Code")
    codes: list[GateCode] = []
    known: list[GateVerdict] = []
    bucket, key = text(code, "S3Bucket"), text(code, "S3Key")
    version = text(code, "S3ObjectVersion")
    if text(code, "ZipFile") is not None:
        known.append(GateVerdict("Code.ZipFile", "allow", INLINE_NOTE, None, True))
    elif bucket and key:
        where = f"s3://{bucket}/{key}" + (f"?versionId={version}" if version else "")
        if bucket not in gate.code_buckets:
            why = "the bucket is not in GATE_CODE_BUCKETS, so the hook cannot read the code"
            known.append(on_timeout(GateVerdict(where[:300], "unknown", why), gate))
        else:
            try:
                sha = s3_code_sha256(client("s3"), bucket, key, version)
                codes.append(GateCode(KIND_LAMBDA_ZIP, where[:300], sha, startable=False))
            except LookupFailed as exc:
                known.append(on_error(where[:300], str(exc), gate))
    else:
        known.append(on_error("Code", "no ZipFile and no S3Bucket/S3Key to check", gate))
    layers = items(properties, "Layers")
    valid = [a for a in layers if isinstance(a, str) and LAYER_ARN_RE.match(a)]
    if len(layers) > MAX_LAYERS or len(valid) != len(layers):
        known.append(on_error("Layers", "not at most 5 layer version ARNs", gate))
    found, refused = layer_codes(client("lambda"), valid[:MAX_LAYERS], gate) if valid else ([], [])
    return codes + found, known + refused
