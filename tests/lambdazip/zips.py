"""Zip packages built by code: Lambda-like functions and layers, and hostile ones."""

from __future__ import annotations

import base64
import hashlib
import io
import stat
import warnings
import zipfile


def code_sha256(data: bytes) -> str:
    """Lambda's CodeSha256 of `data`: base64 of its SHA-256."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def make_zip(entries: list[tuple[str, bytes | str, int]], *, level: int = 6) -> bytes:
    """A zip of (name, content, unix mode) entries; a str content with S_IFLNK is a symlink."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # a duplicate name is what some hostile tests want
        warnings.simplefilter("ignore", UserWarning)
        return _write(buffer, entries, level)


def _write(buffer: io.BytesIO, entries: list[tuple[str, bytes | str, int]], level: int) -> bytes:
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for name, content, mode in entries:
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, content.encode() if isinstance(content, str) else content)
    return buffer.getvalue()


def file(name: str, content: bytes | str = b"x") -> tuple[str, bytes | str, int]:
    """A regular file entry."""
    return (name, content, stat.S_IFREG | 0o644)


def link(name: str, target: str) -> tuple[str, bytes | str, int]:
    """A symlink entry."""
    return (name, target, stat.S_IFLNK | 0o777)


def dist_info(package: str, version: str, prefix: str = "") -> list[tuple[str, bytes | str, int]]:
    """An installed Python package as pip lays it out (what syft and QScanner read)."""
    base = f"{prefix}{package}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n"
    record = f"{package}/__init__.py,,\n{base}/METADATA,,\n"
    return [
        file(f"{prefix}{package}/__init__.py", "VALUE = 1\n"),
        file(f"{base}/METADATA", metadata),
        file(f"{base}/RECORD", record),
    ]


def function_zip() -> bytes:
    """A Python function: its handler and one installed dependency."""
    return make_zip(
        [
            file("app.py", "def handler(event, context):\n    return 1\n"),
            *dist_info("requests", "2.19.1"),
        ]
    )


def layer_zip() -> bytes:
    """A layer as Lambda mounts it under /opt: python/ holds its packages."""
    return make_zip(dist_info("urllib3", "1.24.1", prefix="python/"))


def denied_node_function() -> bytes:
    """A Node.js function whose lock file pins event-stream 3.3.6 (on the built-in deny list)."""
    lock = (
        '{"name": "fn", "version": "1.0.0", "lockfileVersion": 3, "packages": {'
        '"": {"name": "fn", "version": "1.0.0", "dependencies": {"event-stream": "3.3.6"}},'
        '"node_modules/event-stream": {"version": "3.3.6"}}}'
    )
    return make_zip(
        [
            file("index.js", "exports.handler = async () => 1;\n"),
            file("package-lock.json", lock),
            file(
                "node_modules/event-stream/package.json",
                '{"name": "event-stream", "version": "3.3.6"}',
            ),
        ]
    )
