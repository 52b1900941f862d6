"""`deployscan demo --quick` runs in the suite: the whole flow, then nothing left running."""

from __future__ import annotations

from pathlib import Path

import psutil
from click.testing import CliRunner

from scanner_runner.cli import main
from scanner_runner.demo.run import choose_scanner


def test_quick_demo_runs_the_flow_and_cleans_up(tmp_path: Path) -> None:
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    workdir = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "--quick", "--workdir", str(workdir)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "scanner: syft (inventory only: no vulnerability data" in out
    assert "event: ECS Task State Change (RUNNING) -> build started" in out
    assert "event: ECS Task State Change, delivered again -> skip (scan-in-progress)" in out
    table = out[out.index("image  ") :].splitlines()
    assert any(line.startswith("shop/checkout-api:2.3.1") and " passed " in line for line in table)
    html = workdir / "reports" / "01-shop-checkout-api" / "report.html"
    assert html.is_file() and f"file://{html.resolve()}" in out
    assert "report in the emulated S3: s3://deployscan-reports-123456789012/reports/" in out
    after = {p.pid for p in psutil.Process().children(recursive=True) if p.is_running()}
    assert after <= before  # registry, build shells and scanners are all gone


def test_scanner_choice() -> None:
    creds = {"QUALYS_ACCESS_TOKEN": "t", "QUALYS_POD": "US1"}
    assert choose_scanner({"QSCANNER_PATH": "/opt/qscanner", **creds}).name == "qscanner"
    no_creds = choose_scanner({"QSCANNER_PATH": "/opt/qscanner", "PATH": "/nonexistent"})
    assert (no_creds.name, "no QUALYS_ACCESS_TOKEN" in no_creds.why) == ("syft", True)
    no_binary = choose_scanner({**creds, "PATH": "/nonexistent"})
    assert no_binary.name == "syft" and "no qscanner binary" in no_binary.why
