"""`deployscan demo`: the embedded-default end-to-end run on this machine.

The demo lives in `scanner_runner.devtools`, which the runner bundle leaves out, so it is imported
only when the command runs; without it the command says so in one line.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import click
from botocore.exceptions import BotoCoreError, ClientError

from dispatcher.exitcodes import ExitCode
from scanner_runner.errors import DeployscanError

DEVTOOLS = "scanner_runner.devtools"
NOT_BUNDLED = (
    "deployscan demo: the demo is not part of the runner bundle; run it from a clone with make demo"
)


@click.command("demo")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".demo"),
    show_default=True,
    help="Where builds, the registry and the copied reports go (wiped at start).",
)
@click.option("--quick", is_flag=True, help="One image and its redelivered event only.")
@click.option("--verbose", "-v", is_flag=True, help="Stream every build's log.")
def demo(*, workdir: Path, quick: bool, verbose: bool) -> None:
    """Run the whole flow here: emulated AWS (moto), a real registry, the real dispatcher, the
    scan buildspec in the local build executor; then print a summary table.

    Scans with QScanner when a qscanner binary (PATH or $QSCANNER_PATH) and $QUALYS_ACCESS_TOKEN
    and $QUALYS_POD are present, otherwise with syft (inventory only: no vulnerability data).
    Exit 0 when every step worked (a policy-failed image is a result, not a failure).
    """
    if importlib.util.find_spec(DEVTOOLS) is None:
        click.echo(NOT_BUNDLED, err=True)
        sys.exit(ExitCode.USAGE)
    # Imported here, not at the top: a bundle install has no devtools, and the check above says so.
    from scanner_runner.devtools.demo.run import DemoOptions, run_demo  # noqa: PLC0415
    from scanner_runner.devtools.demo.summary import render  # noqa: PLC0415

    options = DemoOptions(workdir=workdir, quick=quick, verbose=verbose, environ=dict(os.environ))
    try:
        result = run_demo(options, click.echo)
    except (DeployscanError, OSError, BotoCoreError, ClientError) as exc:
        click.echo(f"deployscan demo: {exc}", err=True)
        sys.exit(ExitCode.FAILED)
    except KeyboardInterrupt:
        click.echo("deployscan demo: interrupted; everything it started was stopped", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    click.echo("")
    for line in render(result.rows):
        click.echo(line)
    click.echo("")
    click.echo(f"scanner: {result.scanner.why}")
    reports = [row for row in result.rows if row.html is not None]
    if reports:
        click.echo(f"HTML reports (copied from the build artifacts to {result.reports_dir}):")
        for row in reports:
            click.echo(f"  {row.image}: file://{row.html}")
            click.echo(f"    report in the emulated S3: {row.report_uri}")
    click.echo(f"demo finished in {result.seconds:.1f} s")
    if not result.ok:
        for row in result.rows:
            if row.errored:
                click.echo(f"deployscan demo: {row.image} ended in error: {row.reason}", err=True)
        if not result.rows:
            click.echo("deployscan demo: no build ran", err=True)
        click.echo("deployscan demo: a build ended in error (its log: run again with -v)", err=True)
        sys.exit(ExitCode.FAILED)
