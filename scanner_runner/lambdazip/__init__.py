"""Acquire a zip Lambda function (with its layers) or a layer version as a directory to scan.

`lambda:GetFunction` / `GetLayerVersionByArn` in the owning account (through PULL_ROLE_ARN when
the build runs elsewhere) give each package's presigned URL and CodeSha256; each package is
downloaded, verified against its hash, then unpacked safely into the layout the runtime sees:
`<root>/var/task` for the function's code and `<root>/opt` for its layers, in order (a later
layer overwrites an earlier one, as Lambda does). Every failure is a `PullError` (fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dispatcher.aws import assumed_session
from dispatcher.buildvars import KIND_LAMBDA_LAYER
from dispatcher.errors import LookupFailed
from dispatcher.lambdacode import CodeTarget, function_code, layer_code
from scanner_runner.errors import PullError
from scanner_runner.lambdazip.unpack import LAMBDA_UNZIPPED_LIMIT, Budget, unpack

SESSION_NAME = "deployscan-scan"
TASK_DIR, LAYER_DIR = "var/task", "opt"


@dataclass(frozen=True)
class CodeRequest:
    """What to fetch: a function (ARN[:qualifier]) or a layer version, and what it must be."""

    kind: str  # KIND_LAMBDA_ZIP | KIND_LAMBDA_LAYER
    arn: str
    code_sha256: str = ""  # CODE_SHA256: refuse other code (it changed since the event)
    role_arn: str = ""  # PULL_ROLE_ARN: the read-only role in the owning account
    max_bytes: int = LAMBDA_UNZIPPED_LIMIT


@dataclass(frozen=True)
class LambdaTarget:
    """The unpacked tree and what it is."""

    root: Path
    code: CodeTarget  # the function's code, or the layer's content
    layers: tuple[CodeTarget, ...] = ()  # the function's layers, in order
    files: int = 0

    @property
    def runtime(self) -> str:
        """The runtime (python3.12, nodejs20.x …): the OS of the tree has no packages here."""
        return self.code.runtime


def region_of(arn: str) -> str:
    """The region field of a Lambda ARN."""
    return arn.split(":")[3]


def lambda_client(arn: str, role_arn: str, session: Any) -> Any:
    """A Lambda client in the ARN's region, through `role_arn` when given; PullError if refused."""
    import boto3  # noqa: PLC0415 (AWS libraries load only when needed)

    base = session or boto3.session.Session()
    region = region_of(arn)
    try:
        if role_arn:
            base = assumed_session(base, role_arn, session_name=SESSION_NAME, region=region)
        return base.client("lambda", region_name=region)
    except LookupFailed as exc:
        raise PullError(str(exc)) from exc


def fetch(request: CodeRequest, work: Path, client: Any, http: Any = None) -> LambdaTarget:
    """Look the code up, download and verify every package, and lay the tree out under `work`."""
    from scanner_runner.lambdazip.download import download  # noqa: PLC0415 (requests: lazily)

    try:
        if request.kind == KIND_LAMBDA_LAYER:
            code, layers = layer_code(client, request.arn), []
        else:
            found = function_code(client, request.arn)
            if found.code is None:
                raise PullError(f"{request.arn} is a {found.package_type} function, not zip code")
            code = found.code
            layers = [layer_code(client, arn) for arn in found.layers]
    except LookupFailed as exc:
        raise PullError(str(exc)) from exc
    if request.code_sha256 and code.code_sha256 != request.code_sha256:
        raise PullError(
            f"{code.arn} now has code {code.code_sha256}, not the deployed {request.code_sha256}"
            " (a newer deploy is scanned by its own build)"
        )
    root = work / "lambda-root"
    budget = Budget(max_bytes=request.max_bytes)
    downloads = work / "lambda-downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    files = 0
    own = TASK_DIR if request.kind != KIND_LAMBDA_LAYER else LAYER_DIR
    for index, package in enumerate([code, *layers]):
        if not package.location:
            raise PullError(f"Lambda gave no download location for {package.arn}")
        archive = downloads / f"{index}.zip"
        limit = min(request.max_bytes, package.size or request.max_bytes)
        download(package.location, archive, package.code_sha256, max_bytes=limit, session=http)
        place = own if index == 0 else LAYER_DIR
        files += unpack(archive, root / place, budget, package.arn)
        archive.unlink()
    return LambdaTarget(root, code, tuple(layers), files)
