"""One shell per build, as CodeBuild runs it: variables and the working directory carry over
from one command to the next and from one phase to the next.

Each command is written to its own file and sourced by the long-lived shell with stdin from
/dev/null; after it, the shell prints a marker line holding a per-build random nonce and the exit
status. Output is read by one thread, masked (secret values become `***`) and handed on line by
line. The shell runs in its own session so a timeout kills its whole process group.
"""

from __future__ import annotations

import contextlib
import os
import queue
import secrets
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from scanner_runner.devtools.localbuild.errors import LocalBuildError

OutputSink = Callable[[str], None]
SHELL_DIED = -1  # status reported when the shell itself is gone (a command ran `exit`)


class CommandTimeout(LocalBuildError):
    """The build ran past its timeout; the shell has been killed."""


class BuildShell:
    """A persistent shell that runs commands one at a time and reports each exit status."""

    def __init__(
        self,
        *,
        shell: str,
        env: Mapping[str, str],
        cwd: Path,
        script_dir: Path,
        output: OutputSink,
        masked: Iterable[str] = (),
    ) -> None:
        self._marker = f"__deployscan_status_{secrets.token_hex(12)}__"
        self._masked = sorted((v for v in masked if len(v) >= 3), key=len, reverse=True)
        self._output = output
        self._script_dir = script_dir
        self._script_dir.mkdir(parents=True, exist_ok=True)
        self._count = 0
        self._statuses: queue.Queue[int] = queue.Queue()
        argv = [shell, "--noprofile", "--norc"] if "bash" in shell else [shell]
        self._proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, name="buildshell-reader", daemon=True)
        self._reader.start()

    @property
    def alive(self) -> bool:
        """False once the shell has exited (for example after a command ran `exit`)."""
        return self._proc.poll() is None

    @property
    def pid(self) -> int:
        """The shell's process id (also its process group id)."""
        return self._proc.pid

    def run(self, command: str, *, deadline: float) -> int:
        """Run one command in the shell; return its exit status (`SHELL_DIED` if the shell died).

        Raises `CommandTimeout` (after killing the shell) when `deadline` (monotonic) passes.
        """
        self._count += 1
        script = self._script_dir / f"command-{self._count:03d}.sh"
        script.write_text(command + "\n", encoding="utf-8")
        wrapper = (
            f". {shlex.quote(str(script))} </dev/null\nprintf '%s %s\\n' {self._marker} \"$?\"\n"
        )
        if not self._send(wrapper):
            return SHELL_DIED
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise CommandTimeout("build timed out")
            try:
                return self._statuses.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                if self._proc.poll() is not None and not self._reader.is_alive():
                    return self._proc.returncode or SHELL_DIED

    def set_variable(self, name: str, value: str, *, deadline: float) -> None:
        """Export a variable in the shell without echoing the command to the build log."""
        self.run(f"export {name}={shlex.quote(value)}", deadline=deadline)

    def environment(self, *, deadline: float) -> dict[str, str]:
        """The shell's exported environment right now."""
        dump = self._script_dir / "environment.bin"
        status = self.run(f"env -0 > {shlex.quote(str(dump))}", deadline=deadline)
        if status != 0 or not dump.exists():
            return {}
        pairs = dump.read_bytes().split(b"\0")
        dump.unlink()
        env = {}
        for pair in pairs:
            name, sep, value = pair.decode("utf-8", "replace").partition("=")
            if sep:
                env[name] = value
        return env

    def close(self, timeout: float = 5.0) -> None:
        """End the shell (EOF on stdin), then kill whatever is left of its process group."""
        if self._proc.stdin and not self._proc.stdin.closed:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=timeout)
        self.kill()  # like the end of a CodeBuild container: background leftovers go too
        self._reader.join(timeout=timeout)

    def kill(self) -> None:
        """Kill the shell's whole process group (the build's shell and all it started)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=5)

    def _send(self, text: str) -> bool:
        stdin = self._proc.stdin
        if stdin is None or self._proc.poll() is not None:
            return False
        try:
            stdin.write(text.encode())
            stdin.flush()
        except (BrokenPipeError, OSError):
            return False
        return True

    def _read(self) -> None:
        stdout = self._proc.stdout
        if stdout is None:
            return
        for raw in stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            index = line.find(self._marker)
            if index < 0:
                self._output(self._mask(line))
                continue
            if index > 0:
                self._output(self._mask(line[:index]))
            status = line[index + len(self._marker) :].strip()
            self._statuses.put(int(status) if status.lstrip("-").isdigit() else SHELL_DIED)

    def _mask(self, line: str) -> str:
        for value in self._masked:
            line = line.replace(value, "***")
        return line
