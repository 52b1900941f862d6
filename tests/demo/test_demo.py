"""`deployscan demo --quick` runs in the suite: the whole flow, then nothing left running."""

from __future__ import annotations

import json
import re
from pathlib import Path

import psutil
from click.testing import CliRunner

from scanner_runner.cli import main
from scanner_runner.devtools.demo.run import choose_scanner


def test_quick_demo_runs_the_flow_and_cleans_up(tmp_path: Path) -> None:
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    workdir = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "--quick", "--workdir", str(workdir)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "scanner: syft (inventory only: no vulnerability data" in out
    assert "event: ECS Task State Change (RUNNING) -> build started" in out
    assert "event: ECS Task State Change, delivered again -> skip (scan-in-progress)" in out
    table = out[out.index("image  ") :].split("\n\n")[0].splitlines()
    (row,) = [line for line in table if line.startswith("shop/checkout-api:2.3.1")][:1]
    # an inventory never reads like a clean vulnerability scan: no zero counts
    assert " passed (inventory only) " in row and " n/a " in row and "0/0/0/0/0" not in row
    # The deploy gate step: the ECS hook waits for the scans, then lets the clean service
    # through and blocks the one carrying the backdoored xz, naming the deny-listed packages.
    assert "gate (ECS hook, enforce): service payments -> IN_PROGRESS: scan started" in out
    gated = {line.split()[0]: line for line in table if " gate:ecs-hook " in line}
    assert "deploy SUCCEEDED" in gated["shop/checkout-api:2.3.1"]
    assert "deploy FAILED: deny list: 2 denied package(s)" in gated["shop/payments:4.2.0"]
    assert "xz-utils-5.6.1" in out
    html = workdir / "reports" / "01-shop-checkout-api" / "report.html"
    assert html.is_file() and f"file://{html.resolve()}" in out
    assert "report in the emulated S3: s3://deployscan-reports-123456789012/reports/" in out
    # the sweep: already running before any deploy event, found, scanned, shown by status
    assert "/legacy/billing:4.2 -> build (never-scanned); runs in legacy/service:billing, " \
        "nightly-report" in out  # fmt: skip
    status = out[out.index("$ deployscan status") :].splitlines()
    assert status[1].split()[:3] == ["IMAGE", "DIGEST", "WHERE"]
    assert "1 service (2 tasks) and 1 function in 1 account, 1 region" in status[2]
    assert "passed (inventory only)" in status[2] and " sweep " in out
    posture = (workdir / "reports" / "index.html").read_text()
    assert "legacy/billing:4.2" in posture
    assert re.search(r'href="\d\d-legacy-billing/report\.html"', posture)
    after = {p.pid for p in psutil.Process().children(recursive=True) if p.is_running()}
    assert after <= before  # registry, build shells and scanners are all gone


def test_scanner_choice() -> None:
    creds = {"QUALYS_ACCESS_TOKEN": "t", "QUALYS_POD": "US1"}
    assert choose_scanner({"QSCANNER_PATH": "/opt/qscanner", **creds}).name == "qscanner"
    no_creds = choose_scanner({"QSCANNER_PATH": "/opt/qscanner", "PATH": "/nonexistent"})
    assert (no_creds.name, "no QUALYS_ACCESS_TOKEN" in no_creds.why) == ("syft", True)
    no_binary = choose_scanner({**creds, "PATH": "/nonexistent"})
    assert no_binary.name == "syft" and "no qscanner binary" in no_binary.why


def test_full_demo_with_qscanner_shows_verdicts_and_dedup(tmp_path: Path) -> None:
    """With a qscanner binary (the test double) and Qualys settings the demo uses QScanner,
    fetched from the emulated S3 and sha256-verified by the buildspec."""
    double = Path(__file__).resolve().parents[1] / "doubles" / "qscanner"
    env = {
        "QSCANNER_PATH": str(double),
        "QUALYS_POD": "US1",
        "QUALYS_ACCESS_TOKEN": "demo-token-42",
    }
    workdir = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "--workdir", str(workdir)], env=env)
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"scanner: QScanner at {double}, pod US1" in out
    assert "demo-token-42" not in out
    table = out[out.index("image  ") :].split("\n\n")[0].splitlines()
    rows: dict[str, str] = {}
    for line in table[2:]:
        if line and not line.startswith("scanner"):
            rows.setdefault(line.split()[0], line)  # the first row of an image: its build
    assert " failed " in rows["shop/checkout-api:2.3.1"]  # the double's findings break the policy
    assert "ecs:RegisterTaskDefinition" in rows["shop/edge-proxy:3.0.0"]
    by_prefix = {key.partition("@")[0]: line for key, line in rows.items() if "@" in key}
    assert "lambda:CreateFunction" in by_prefix["fn/thumbnailer"]
    assert "skipped: scan-in-progress" in by_prefix["shop/log-shipper"]
    assert table.count(rows["shop/checkout-api:2.3.1"]) == 1
    assert any("checkout-api:2.3.1" in line and "scan-in-progress" in line for line in table)
    # the deployed images, the two the sweep found running (legacy/billing, nightly-report),
    # and the zip step's layer and function (its lock file pins a deny-listed package)
    assert " failed " in rows["legacy/billing:4.2"] and " sweep " in rows["legacy/billing:4.2"]
    gated = {line.split()[0]: line for line in table if " gate:ecs-hook " in line}
    assert "deploy FAILED: " in gated["shop/payments:4.2.0"]
    assert "lambda:PublishLayerVersion" in rows["lambda-layer:shared-http"]
    assert (
        " failed " in rows["lambda-zip:orders"]
        and "lambda:CreateFunction" in rows["lambda-zip:orders"]
    )
    [orders] = (workdir / "reports").glob("*-orders/report.json")
    denied = json.loads(orders.read_text())
    assert any(f["package"] == "event-stream" for f in denied["findings"])
    assert denied["lambda"]["layers"][0].endswith(":layer:shared-http:1")
    assert len(list((workdir / "reports").glob("*/report.html"))) == 8


def test_a_build_that_ends_in_error_fails_the_demo_with_its_reason(tmp_path: Path) -> None:
    """A QScanner that errors: the row says error (never "inventory only"), the demo exits 1."""
    broken = tmp_path / "qscanner"
    broken.write_text("#!/bin/sh\necho 'Error: subscription expired for this pod' >&2\nexit 1\n")
    broken.chmod(0o755)
    env = {"QSCANNER_PATH": str(broken), "QUALYS_POD": "US1", "QUALYS_ACCESS_TOKEN": "t-1"}
    workdir = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "--quick", "--workdir", str(workdir)], env=env)
    assert result.exit_code == 1, result.output
    out = result.output
    table = out[out.index("image  ") :].split("\n\n")[0].splitlines()
    (row,) = [line for line in table if line.startswith("shop/checkout-api:2.3.1")][:1]
    assert " error " in row and "inventory only" not in row
    errors = [line for line in out.splitlines() if " ended in error: " in line]
    assert len(errors) == 2  # the deployed image's build and the swept legacy/billing's
    (line,) = [line for line in errors if "checkout-api" in line]
    assert line.startswith("deployscan demo: shop/checkout-api:2.3.1 ended in error: qscanner")
    assert line.endswith("Error: subscription expired for this pod")


def test_ctrl_c_stops_everything_the_demo_started(tmp_path: Path) -> None:
    import os
    import re
    import signal
    import subprocess
    import sys
    import time

    workdir = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QSCANNER", "QUALYS"))}
    env["PYTHONUNBUFFERED"] = "1"  # each line as it is printed: the signal lands in the first build
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "deployscan"), "demo", "-v", "--workdir", str(workdir)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        # as at a terminal: a suite started in the background (`make test &`) ignores SIGINT,
        # and an ignored signal stays ignored in every child it starts
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )  # fmt: skip
    registry_pid = None
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    for line in proc.stdout:
        found = re.search(r"docker-registry, pid (\d+)", line)
        if found:
            registry_pid = int(found[1])
        if "Entering phase BUILD" in line or time.monotonic() > deadline:
            break
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, rest
    assert "interrupted; everything it started was stopped" in rest
    assert registry_pid is not None and not psutil.pid_exists(registry_pid)
    time.sleep(0.2)
    leftovers = [  # build shells and scanners run in the build's source folder under workdir
        p.info["pid"]
        for p in psutil.process_iter(["pid", "cmdline", "cwd", "status"])
        if p.info["status"] != psutil.STATUS_ZOMBIE
        and (
            str(workdir) in (p.info["cwd"] or "")
            or any(str(workdir) in part for part in (p.info["cmdline"] or []))
        )
    ]
    assert leftovers == []
