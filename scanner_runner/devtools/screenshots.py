"""Screenshots of the HTML report in its four states, taken with headless Chromium.

`python -m scanner_runner.devtools.screenshots DIR` (or `make screenshots`, into
docs/screenshots/) writes `report-<state>.png` for passed, failed, error and inventory-only, so a
broken layout is seen rather than guessed. The reports are built here in code, through the
policy, from made-up findings; nothing is read from the network (Chromium runs with networking
features off on a file:// page whose CSP forbids any fetch).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from scanner_runner.inventory import InventoryItem
from scanner_runner.policy import Policy, evaluate
from scanner_runner.report import (
    Finding,
    ImageInfo,
    PolicyResult,
    ScannerInfo,
    ScanReport,
    TriggerInfo,
    write_atomic,
)
from scanner_runner.writers import html

CHROMIUM = "/usr/bin/chromium"
STATES = ("passed", "failed", "error", "inventory-only")
WINDOW = (1280, 2000)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
)


class ScreenshotError(Exception):
    """Chromium is missing or did not write the screenshot."""


def find_chromium() -> str:
    """The Chromium binary (Debian's `chromium`); ScreenshotError naming the fix when absent."""
    found = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).is_file() else "")
    if not found:
        raise ScreenshotError("chromium is not installed: run `make sysdeps` (Debian: chromium)")
    return found


def sample_reports() -> dict[str, ScanReport]:
    """One report per state, built through the policy like a real scan."""
    findings = (
        Finding("38170", "critical", "OpenSSL: buffer overread in X.509 name checks",
                ("CVE-2025-10001",), "libssl3", "3.0.11-1~deb12u2", "3.0.15-1~deb12u1"),
        Finding("38171", "high", "zlib: heap overflow in inflateGetHeader",
                ("CVE-2025-10002", "CVE-2025-10003"), "zlib1g", "1:1.2.13.dfsg-1"),
        Finding("38172", "high", "curl: cookie injection", ("CVE-2025-10004",), "curl",
                "7.88.1-10", "7.88.1-10+deb12u8"),
        Finding("38173", "medium", "tar: path traversal", ("CVE-2025-10005",), "tar",
                "1.34+dfsg-1.2", "1.34+dfsg-1.2+deb12u1"),
        Finding("38174", "low", "sed: weak temporary file name", (), "sed", "4.9-1"),
    )  # fmt: skip
    policy = Policy(fail_on="high")
    failed_findings, failed_policy, failed_status = evaluate(
        findings, policy, today=date(2026, 3, 1)
    )
    passed_findings, passed_policy, passed_status = evaluate(
        findings[3:], policy, today=date(2026, 3, 1)
    )
    base = ScanReport(
        image=ImageInfo(
            ref="123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/checkout:2.7.0",
            registry="123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            repository="shop/checkout",
            tag="2.7.0",
            digest="sha256:" + "4f2c9e1d" * 8,
            platform="linux/arm64",
            image_id="sha256:" + "9a8b7c6d" * 8,
            os="Debian GNU/Linux 12 (bookworm)",
        ),
        trigger=TriggerInfo(
            "ecs:TaskStateChange",
            "123456789012",
            "eu-west-1",
            "arn:aws:ecs:eu-west-1:123456789012:service/prod/checkout",
            compute_tier="lambda",
        ),
        scanner=ScannerInfo("qscanner", "4.8.0", "get-report"),
        started_at="2026-03-01T09:14:03Z",
        finished_at="2026-03-01T09:14:51Z",
        status=failed_status,
        policy=failed_policy,
        findings=failed_findings,
        build_id="deployscan-scan-lambda:0d7e61c2-5b1f-4a8e-9c3d-2e4f6a8b0c1d",
        report_uri="s3://deployscan-reports/reports/123456789012/eu-west-1/shop/checkout/report.json",
    )
    packages = (
        InventoryItem("base-files", "12.4+deb12u9", "deb", "/var/lib/dpkg/status"),
        InventoryItem("libssl3", "3.0.11-1~deb12u2", "deb", "/var/lib/dpkg/status"),
        InventoryItem("zlib1g", "1:1.2.13.dfsg-1", "deb", "/var/lib/dpkg/status"),
        InventoryItem("express", "4.21.2", "npm", "/app/node_modules/express/package.json"),
        InventoryItem("requests", "2.32.3", "pypi", "/usr/lib/python3/dist-packages"),
    )
    return {
        "passed": base.with_(status=passed_status, policy=passed_policy, findings=passed_findings),
        "failed": base,
        "error": base.with_(
            status="error",
            findings=(),
            vulnerability_data=False,
            policy=PolicyResult("error", "could not scan: the registry refused the pull"),
            error="pull failed: 403 Forbidden from 123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        ),
        "inventory-only": base.with_(
            status="passed",
            findings=(),
            vulnerability_data=False,
            scanner=ScannerInfo("syft", "1.18.1", "inventory-only"),
            policy=PolicyResult("not-evaluated", "inventory only: no vulnerability data"),
            inventory_packages=len(packages),
            packages=packages,
        ),
    }


def capture(page: Path, png: Path, chromium: str, timeout: float = 60.0) -> Path:
    """Screenshot one local HTML file; ScreenshotError unless a PNG was written."""
    png.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="deployscan-chromium-") as profile:
        argv = [
            chromium, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}",
            f"--window-size={WINDOW[0]},{WINDOW[1]}", page.resolve().as_uri(),
        ]  # fmt: skip
        done = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
    if done.returncode != 0 or not png.is_file() or png.stat().st_size == 0:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        raise ScreenshotError(f"chromium exited {done.returncode} without {png.name}: {tail[0]}")
    return png


def take_all(directory: Path, chromium: str | None = None) -> dict[str, Path]:
    """Render and screenshot every state into `directory`; state -> PNG path."""
    binary = chromium or find_chromium()
    directory.mkdir(parents=True, exist_ok=True)
    shots = {}
    with tempfile.TemporaryDirectory(prefix="deployscan-pages-") as pages:
        for state, report in sample_reports().items():
            page = Path(pages) / f"report-{state}.html"
            write_atomic(page, html.render(report))
            shots[state] = capture(page, directory / f"report-{state}.png", binary)
    return shots


def main(argv: list[str]) -> int:
    """`screenshots DIR`: 0 when every PNG was written, 1 with one line of why not."""
    if len(argv) != 1:
        print("usage: python -m scanner_runner.devtools.screenshots DIR", file=sys.stderr)
        return 2
    try:
        for state, png in take_all(Path(argv[0])).items():
            print(f"{state}: {png}")
    except (ScreenshotError, OSError, subprocess.TimeoutExpired) as exc:
        print(f"screenshots: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
