"""A thin HTTP front over moto server's Lambda API that adds what moto does not serve.

A build's boto3 reaches it through `AWS_ENDPOINT_URL_LAMBDA` (botocore's per-service endpoint
variable), so the runner runs unchanged. Every request goes to moto as it came; two answers are
completed: GetFunction's `Code.Location` (moto names a host that does not resolve) becomes the
code server's URL for the function's CodeSha256, and GetLayerVersionByArn (missing in moto) is
answered from moto's GetLayerVersion with `Content.Location` filled the same way. Devtools only.
"""

from __future__ import annotations

import http.server
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from scanner_runner.devtools.codeserve import CodeServer
from scanner_runner.devtools.loopback import LoopbackServer

_HOP_HEADERS = {"host", "content-length", "connection", "accept-encoding"}
_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
             "Action": "sts:AssumeRole"}
        ],
    }
)  # fmt: skip


class LambdaFront(LoopbackServer):
    """Proxies to `moto_endpoint`; `register` publishes code bytes for their CodeSha256."""

    def __init__(self, moto_endpoint: str, code: CodeServer) -> None:
        self._moto = moto_endpoint.rstrip("/")
        self._code = code
        self._urls: dict[str, str] = {}
        self._serve(self._handler())

    @property
    def endpoint(self) -> str:
        """`http://127.0.0.1:<port>`, for AWS_ENDPOINT_URL_LAMBDA."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ca_bundle(self) -> str:
        """The CA file a client must trust for the code URLs (REQUESTS_CA_BUNDLE)."""
        return str(self._code.ca_bundle)

    def register(self, code_sha256: str, data: bytes) -> str:
        """Serve `data` as the code whose CodeSha256 is `code_sha256`; its URL."""
        name = code_sha256.replace("/", "_").replace("+", "-").rstrip("=") + ".zip"
        self._urls[code_sha256] = self._code.put(name, data)
        return self._urls[code_sha256]

    def deploy(
        self,
        lam: Any,
        iam: Any,
        *,
        function: dict[str, Any],
        code: bytes,
        layer: dict[str, Any],
        layer_code: bytes,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Publish a layer and create a zip function using it (moto's `lam` and `iam`), both
        served here; (CreateFunction's answer, PublishLayerVersion's answer)."""
        published = lam.publish_layer_version(**layer, Content={"ZipFile": layer_code})
        name = function["FunctionName"]
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=_TRUST)
        created = lam.create_function(
            **function, Publish=True, Role=role["Role"]["Arn"], Code={"ZipFile": code},
            Layers=[published["LayerVersionArn"]],
        )  # fmt: skip
        self.register(created["CodeSha256"], code)
        self.register(published["Content"]["CodeSha256"], layer_code)
        return created, published

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        request = urllib.request.Request(self._moto + path, data=body or None, method=method)  # noqa: S310 (moto on loopback)
        for key, value in headers.items():
            if key.lower() not in _HOP_HEADERS:
                request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                return answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def _complete(
        self, method: str, path: str, status: int, body: bytes, headers: dict[str, str]
    ) -> bytes:
        parts = urlsplit(path)
        if method != "GET" or status != 200:
            return body
        if parts.path.startswith("/2015-03-31/functions/") and parts.path.count("/") == 3:
            data: dict[str, Any] = json.loads(body)
            sha = data.get("Configuration", {}).get("CodeSha256", "")
            if sha in self._urls:
                data.setdefault("Code", {})["Location"] = self._urls[sha]
            return json.dumps(data).encode()
        return body

    def _layer_by_arn(self, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        arn = parse_qs(path.partition("?")[2]).get("Arn", [""])[0]
        parts = arn.split(":")
        if len(parts) != 8 or parts[5] != "layer":
            return 400, json.dumps({"Type": "User", "message": "bad layer ARN"}).encode()
        target = f"/2018-10-31/layers/{quote(parts[6])}/versions/{quote(parts[7])}"
        status, body = self._forward("GET", target, headers, b"")
        if status != 200:
            return status, body
        data: dict[str, Any] = json.loads(body)
        sha = data.get("Content", {}).get("CodeSha256", "")
        if sha in self._urls:
            data["Content"]["Location"] = self._urls[sha]
        return 200, json.dumps(data).encode()

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                return

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = dict(self.headers)
                params = parse_qs(self.path.partition("?")[2])
                if self.path.startswith("/2018-10-31/layers?") and params.get("find") == [
                    "LayerVersion"
                ]:
                    status, out = front._layer_by_arn(self.path, headers)
                else:
                    status, out = front._forward(method, self.path, headers, body)
                    out = front._complete(method, self.path, status, out, headers)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_PUT(self) -> None:
                self._serve("PUT")

            def do_DELETE(self) -> None:
                self._serve("DELETE")

        return Handler
