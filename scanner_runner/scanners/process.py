"""Run a scanner binary: argument list (never a shell), own environment, hard timeout."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from scanner_runner.errors import ScannerError

STDERR_TAIL = 4000


@dataclass(frozen=True)
class Completed:
    """Exit code (negative = killed by that signal) and the end of stderr."""

    returncode: int
    stderr: str


def run(
    argv: Sequence[str], env: Mapping[str, str], timeout: float, console_log: Path
) -> Completed:
    """Run `argv`; stdout and stderr are also kept in `console_log`. Timeout -> ScannerError."""
    console_log.parent.mkdir(parents=True, exist_ok=True)
    with console_log.open("wb") as log:
        try:
            proc = subprocess.Popen(
                list(argv),
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            raise ScannerError(f"cannot run {Path(argv[0]).name}: {exc.strerror}") from exc
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            _kill_group(proc)
            raise ScannerError(
                f"{Path(argv[0]).name} did not finish within {timeout:.0f} s; killed"
            ) from exc
        log.write(err)
    text = err.decode("utf-8", "replace")
    return Completed(proc.returncode, text[-STDERR_TAIL:])


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.kill()
    proc.communicate()
