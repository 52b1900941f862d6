"""`deployscan status`: what runs now and its latest verdict, riskiest first.

A thin edge: read the in-use index and the verdicts (`dispatcher.sweep.status.read_rows`), print a
table or JSON, exit 1 when something running breaks the policy.
"""

from __future__ import annotations

import json
import os
import sys
import time

import click

from dispatcher.errors import DeployscanError
from dispatcher.exitcodes import ExitCode
from dispatcher.scancache import ScanCacheTable
from dispatcher.sweep.posture import row_dict
from dispatcher.sweep.status import SEVERITIES, StatusRow, read_rows
from scanner_runner.cli.sweep import aws_session, check_scope, fail

COLUMNS = ("IMAGE", "DIGEST", "WHERE", "VERDICT", "C/H/M/L", "SCANNED", "REPORT")


@click.command(
    "status",
    help=(
        "What runs now (the in-use index the sweep keeps in SCAN_CACHE_TABLE) and its latest "
        "verdict: image, digest, where it runs, verdict, counts, age of the scan, report; "
        "riskiest first.\n\n"
        "Exit 1 when something running breaks the policy (its scan failed, or with --fail-on "
        "it has findings at or above that severity); 0 otherwise; 2 for bad options or "
        "settings; 3 when the table cannot be read."
    ),
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of a table.")
@click.option("--fail-on", type=click.Choice(SEVERITIES), help="Also fail on this severity.")
@click.option("--account", "accounts", multiple=True, metavar="A", help="Only this account.")
@click.option("--region", "regions", multiple=True, metavar="R", help="Only this region.")
def status(
    as_json: bool, fail_on: str | None, accounts: tuple[str, ...], regions: tuple[str, ...]
) -> None:
    """Entry point of `deployscan status`."""
    check_scope("status", accounts, regions)
    table = os.environ.get("SCAN_CACHE_TABLE", "").strip()
    if not table:
        fail("status", "settings: SCAN_CACHE_TABLE must be set")
    session, _ = aws_session("status")
    now = time.time()
    try:
        rows = read_rows(ScanCacheTable(session.client("dynamodb"), table), now,
                         accounts=accounts, regions=regions)  # fmt: skip
    except DeployscanError as exc:
        click.echo(f"deployscan status: {exc}", err=True)
        sys.exit(ExitCode.ERROR)
    breaking = [r for r in rows if r.breaks(fail_on)]
    if as_json:
        doc = {"running": [row_dict(r, lambda uri: uri or None) for r in rows],
               "breaking": len(breaking)}  # fmt: skip
        click.echo(json.dumps(doc, indent=1, ensure_ascii=True))
    else:
        click.echo(render_table(rows, now), nl=False)
        click.echo(f"{len(rows)} running digest(s); {len(breaking)} break the policy.")
    sys.exit(ExitCode.FAILED if breaking else ExitCode.OK)


def render_table(rows: list[StatusRow], now: float) -> str:
    """The table for people: fixed columns, long values cut, control characters removed."""
    cells = [COLUMNS] + [
        (
            _cut(r.name, 48),
            r.digest.removeprefix("code#").removeprefix("sha256:")[:12],
            _cut(r.where().removeprefix("runs in "), 60),
            r.verdict if r.vulnerability_data else f"{r.verdict} (inventory only)",
            _counts(r),
            _age(now - r.scanned_at) if r.scanned_at else "-",
            _cut(r.report_uri, 80) or "-",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    return "".join(
        "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip()
        + "\n"
        for row in cells
    )


def _counts(row: StatusRow) -> str:
    """Critical/high/medium/low; an inventory-only scan has none to show (not zeros)."""
    if not row.scanned_at:
        return "-"
    if not row.vulnerability_data:
        return "n/a"
    return "/".join(str(row.counts.get(s, 0)) for s in SEVERITIES)


def _cut(text: str, width: int) -> str:
    clean = "".join(c if c.isprintable() else "?" for c in text)
    return clean if len(clean) <= width else clean[: width - 3] + "..."


def _age(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 3600:
        return f"{int(seconds // 60)}m ago"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)}h ago"
    return f"{int(seconds // 86400)}d ago"
