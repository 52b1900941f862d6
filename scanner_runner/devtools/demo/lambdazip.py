"""The demo's zip Lambda step: a Node.js function whose lock file pins a deny-listed package
(event-stream 3.3.6) and uses a Python layer, both deployed into moto, their code served over
HTTPS (a CA made at start, trusted by the builds through REQUESTS_CA_BUNDLE) behind the Lambda
front (what moto does not serve), and the CloudTrail events of both deploys for the dispatcher.
"""

from __future__ import annotations

import contextlib
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanner_runner.devtools.codeserve import CodeServer
from scanner_runner.devtools.demo.events import DemoEvent, lambda_call
from scanner_runner.devtools.demo.motoserver import MotoServer
from scanner_runner.devtools.lambdafront import LambdaFront

LOCK = {
    "name": "orders",
    "version": "1.0.0",
    "lockfileVersion": 3,
    "packages": {
        "": {"name": "orders", "version": "1.0.0", "dependencies": {"event-stream": "3.3.6"}},
        "node_modules/event-stream": {"version": "3.3.6"},
    },
}


@dataclass(frozen=True)
class ZipDemo:
    """Where the builds reach the Lambda front and which CA they trust, and the two events."""

    env: dict[str, str]
    events: tuple[DemoEvent, ...]


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buffer.getvalue()


def function_code() -> bytes:
    """The function's package: handler, lock file and the installed deny-listed module."""
    return _zip(
        {
            "index.js": "exports.handler = async () => ({ statusCode: 200 });\n",
            "package-lock.json": json.dumps(LOCK),
            "node_modules/event-stream/package.json": json.dumps(
                {"name": "event-stream", "version": "3.3.6"}
            ),
        }
    )


def layer_code() -> bytes:
    """The layer's package: one Python library installed under python/ (mounted at /opt)."""
    meta = "python/requests-2.32.3.dist-info"
    return _zip(
        {
            "python/requests/__init__.py": "__version__ = '2.32.3'\n",
            f"{meta}/METADATA": "Metadata-Version: 2.1\nName: requests\nVersion: 2.32.3\n",
            f"{meta}/RECORD": "requests/__init__.py,,\n",
        }
    )


@contextlib.contextmanager
def zip_samples(moto: MotoServer, workdir: Path) -> Iterator[ZipDemo]:
    """Deploy the layer and the function into moto and serve their code; stopped on exit."""
    tls = workdir / "tls"
    tls.mkdir(parents=True, exist_ok=True)
    with CodeServer(tls) as code, LambdaFront(moto.endpoint, code) as front:
        lam = moto.client("lambda")
        layer_zip, function_zip = layer_code(), function_code()
        created, layer = front.deploy(
            lam,
            moto.client("iam"),
            function={
                "FunctionName": "orders",
                "Runtime": "nodejs20.x",
                "Handler": "index.handler",
            },
            code=function_zip,
            layer={"LayerName": "shared-http", "CompatibleRuntimes": ["nodejs20.x", "python3.12"]},
            layer_code=layer_zip,
        )
        events = (
            DemoEvent("lambda:PublishLayerVersion (zip layer)", _published(layer)),
            DemoEvent("lambda:CreateFunction (zip, with the layer)", _created(created)),
        )
        env = {"AWS_ENDPOINT_URL_LAMBDA": front.endpoint, "REQUESTS_CA_BUNDLE": front.ca_bundle}
        yield ZipDemo(env, events)


def _published(layer: dict[str, Any]) -> dict[str, Any]:
    content = layer["Content"]
    response = {
        "layerArn": layer["LayerArn"],
        "layerVersionArn": layer["LayerVersionArn"],
        "version": layer["Version"],
        "content": {"codeSha256": content["CodeSha256"], "codeSize": content["CodeSize"]},
    }
    request = {"layerName": "shared-http", "content": {}}
    return lambda_call("zip-layer-1", "PublishLayerVersion20181031", request, response)


def _created(created: dict[str, Any]) -> dict[str, Any]:
    response = {
        key[0].lower() + key[1:]: created[key]
        for key in (
            "FunctionName",
            "FunctionArn",
            "Runtime",
            "CodeSha256",
            "CodeSize",
            "Version",
            "PackageType",
        )
    }
    request = {"functionName": "orders", "runtime": "nodejs20.x", "code": {}, "publish": True}
    return lambda_call("zip-fn-1", "CreateFunction20150331", request, response)
