"""The runner as a wheel, built at package time from the bundle's own files, byte for byte the same
for the same source: `py3-none-any`, fixed timestamps and modes, sorted entries.

It holds the bundle's `dispatcher/` and `scanner_runner/` files (no devtools: the bundle's member
list decides), metadata from `pyproject.toml` (name, version, Requires-Python, the runtime
dependencies; extras are development-only and left out) and the console scripts. A build installs
it with `--no-deps --require-hashes` beside the locked dependencies. Stdlib only.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import tomllib
import zipfile
from collections.abc import Iterable
from pathlib import Path

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
PACKAGES = ("dispatcher/", "scanner_runner/")
GENERATOR = "deployscan scripts/runnerwheel.py"


class WheelError(Exception):
    """The project metadata cannot make a wheel."""


def record_digest(data: bytes) -> str:
    """The `sha256=<urlsafe base64, unpadded>` form of a wheel's RECORD."""
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _project(root: Path) -> dict[str, object]:
    try:
        project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    except (OSError, tomllib.TOMLDecodeError, KeyError) as exc:
        raise WheelError(f"pyproject.toml has no readable [project] table: {exc}") from exc
    for key in ("name", "version"):
        if not isinstance(project.get(key), str):
            raise WheelError(f"pyproject.toml: [project] {key} must be a string")
    return dict(project)


def _metadata(project: dict[str, object]) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {project['name']}", f"Version: {project['version']}"]
    if project.get("description"):
        lines.append(f"Summary: {project['description']}")
    if project.get("requires-python"):
        lines.append(f"Requires-Python: {project['requires-python']}")
    dependencies = project.get("dependencies") or []
    if not isinstance(dependencies, list):
        raise WheelError("pyproject.toml: [project] dependencies must be a list")
    lines += [f"Requires-Dist: {dependency}" for dependency in dependencies]
    return "\n".join(lines) + "\n"


def _entry_points(project: dict[str, object]) -> str:
    scripts = project.get("scripts") or {}
    if not isinstance(scripts, dict) or not scripts:
        return ""
    body = "".join(f"{name} = {target}\n" for name, target in sorted(scripts.items()))
    return "[console_scripts]\n" + body


def wheel_filename(root: Path) -> str:
    """`<name>-<version>-py3-none-any.whl` for the project at root."""
    project = _project(root)
    name = re.sub(r"[-_.]+", "_", str(project["name"])).lower()
    return f"{name}-{project['version']}-py3-none-any.whl"


def build_wheel(root: Path, members: Iterable[str]) -> tuple[str, str, str, bytes]:
    """(file name, project name, version, bytes) of the wheel of the package files in members."""
    project = _project(root)
    filename = wheel_filename(root)
    dist_info = f"{filename.split('-')[0]}-{project['version']}.dist-info"
    files: list[tuple[str, bytes]] = [
        (member, (root / member).read_bytes())
        for member in sorted(members)
        if member.startswith(PACKAGES)
    ]
    if not files:
        raise WheelError("no package files to put in the wheel")
    extra = {
        f"{dist_info}/METADATA": _metadata(project),
        f"{dist_info}/WHEEL": (
            f"Wheel-Version: 1.0\nGenerator: {GENERATOR}\nRoot-Is-Purelib: true\n"
            "Tag: py3-none-any\n"
        ),
        f"{dist_info}/entry_points.txt": _entry_points(project),
    }
    files += [(name, text.encode()) for name, text in extra.items() if text]
    record = "".join(f"{name},{record_digest(data)},{len(data)}\n" for name, data in files)
    files.append((f"{dist_info}/RECORD", (record + f"{dist_info}/RECORD,,\n").encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return filename, str(project["name"]), str(project["version"]), buffer.getvalue()
