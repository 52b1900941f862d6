"""`deployscan report`: re-render a saved report.json in another format."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dispatcher.exitcodes import ExitCode
from scanner_runner import writers
from scanner_runner.errors import ReportError
from scanner_runner.report import load, write_atomic


@click.command("report")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(writers.FORMATS)),
    default="markdown",
    show_default=True,
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here.")
def report(directory: Path, fmt: str, output: Path | None) -> None:
    """Re-render the report saved in DIRECTORY (its report.json) in another format.

    Exit codes: 0 rendered, 2 the report is missing or unreadable, 3 OUTPUT could not be written.
    """
    path = directory if directory.suffix == ".json" else directory / "report.json"
    try:
        text = writers.render(load(path), fmt)
    except ReportError as exc:
        click.echo(f"deployscan report: error: {exc}", err=True)
        sys.exit(ExitCode.UNREADABLE)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        write_atomic(output, text)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        click.echo(f"deployscan report: error: cannot write {output}: {reason}", err=True)
        sys.exit(ExitCode.ERROR)
