"""A local HTTPS endpoint that serves zip packages as Lambda's presigned URLs do.

moto stores zip functions and layers but serves no code, so the tests and the demo serve it here, on
127.0.0.1, with a certificate from a test CA generated at start; the runner trusts that CA the
standard way (REQUESTS_CA_BUNDLE). Paths: `/code/<name>?X-Amz-Signature=…` the bytes put there;
`/redirect/<name>` a 302 to the real path; `/forbidden/<name>` a 403 (an expired URL);
`/truncated/<name>` announces the whole length and closes after half.
"""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from scanner_runner.devtools.loopback import LoopbackServer


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, issuer_key = issuer or (name, key)
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


class CodeServer(LoopbackServer):
    """Serves `put` bytes over HTTPS on loopback; `ca_bundle` is the CA file to trust."""

    def __init__(self, directory: Path) -> None:
        self.blobs: dict[str, bytes] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _cert("deployscan test CA", ca_key, None, ca=True)
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert("127.0.0.1", key, (ca_cert.subject, ca_key), ca=False)
        self.ca_bundle = _pem(
            directory / "test-ca.pem", ca_cert.public_bytes(serialization.Encoding.PEM)
        )
        cert_file = _pem(directory / "server.pem", cert.public_bytes(serialization.Encoding.PEM))
        key_file = _pem(
            directory / "server.key",
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(cert_file, key_file)
        self._serve(self._handler())
        self._httpd.socket = self._context.wrap_socket(self._httpd.socket, server_side=True)

    def put(self, name: str, data: bytes) -> str:
        """Serve `data`; the presigned-looking URL it is served at."""
        self.blobs[name] = data
        return self.url("code", name)

    def url(self, kind: str, name: str) -> str:
        """`https://127.0.0.1:<port>/<kind>/<name>?<a fake signature>`."""
        return f"https://127.0.0.1:{self.port}/{kind}/{name}?X-Amz-Signature=SIGNATURE-SENTINEL"

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                return

            def do_GET(self) -> None:
                server.requests.append((self.path, dict(self.headers)))
                kind, _, rest = self.path.lstrip("/").partition("/")
                name = rest.partition("?")[0]
                data = server.blobs.get(name)
                if kind == "redirect":
                    self.send_response(302)
                    self.send_header("Location", server.url("code", name))
                    self.end_headers()
                    return
                if kind == "forbidden" or data is None:
                    self.send_response(403 if kind == "forbidden" else 404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2] if kind == "truncated" else data)
                if kind == "truncated":
                    self.close_connection = True

        return Handler
