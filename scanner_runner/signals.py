"""SIGTERM and SIGINT stop a command the way ^C does: with an exception, so every cleanup runs.

CodeBuild sends SIGTERM at a build timeout. Python's default for it ends the process on the spot,
leaving the scanner child running (its Qualys token in its environment), the partial archive and
the temp directory behind. Here it raises `Terminated`; the `finally` blocks and context managers
on the way out stop the child's process group and remove what the run created.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

import click

from dispatcher.exitcodes import ExitCode

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived. A KeyboardInterrupt, so whatever cleans up after ^C cleans up after it."""


@contextlib.contextmanager
def interruptible(command: str) -> Iterator[None]:
    """Run the block with SIGTERM and SIGINT raising; on either, one line and exit 3."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers; its own handlers then apply
        return
    previous = {sig: signal.signal(sig, _raise) for sig in _SIGNALS}
    try:
        yield
    except KeyboardInterrupt as exc:
        name = "SIGTERM" if isinstance(exc, Terminated) else "SIGINT"
        click.echo(f"deployscan {command}: error: interrupted by {name}; stopped", err=True)
        sys.exit(ExitCode.ERROR)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _raise(signum: int, _frame: FrameType | None) -> None:
    # A second signal must not cut short the cleanup the first one started.
    for sig in _SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    if signum == signal.SIGTERM:
        raise Terminated
    raise KeyboardInterrupt
