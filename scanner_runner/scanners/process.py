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
REAP_TIMEOUT = 5.0


@dataclass(frozen=True)
class Completed:
    """Exit code (negative = killed by that signal) and the end of stderr."""

    returncode: int
    stderr: str


def run(
    argv: Sequence[str], env: Mapping[str, str], timeout: float, console_log: Path
) -> Completed:
    """Run `argv`; stdout and stderr are also kept in `console_log`. Timeout -> ScannerError.

    On a timeout or any exception while it runs (SIGTERM, ^C), its process group is killed."""
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
        except BaseException:
            # Interrupted (SIGTERM, ^C) or failed: the child runs in its own session, so nothing
            # else stops it, and it holds the Qualys token in its environment.
            _kill_group(proc)
            raise
        log.write(err)
    text = err.decode("utf-8", "replace")
    return Completed(proc.returncode, text[-STDERR_TAIL:])


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child's whole process group and reap the child."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.kill()
    try:
        proc.communicate(timeout=REAP_TIMEOUT)
    except subprocess.TimeoutExpired:  # a grandchild that left the group still holds stderr
        if proc.stderr is not None:
            proc.stderr.close()
        proc.wait()
