"""Exit codes of every `deployscan` command: one enum, named for what each number means."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """0 passed/done, 1 failed (policy, or a record left for retry), 2 usage/unreadable input,
    3 could not do the job (never a clean result), 130 interrupted."""

    OK = 0
    FAILED = 1
    USAGE = 2
    ERROR = 3
    INTERRUPTED = 130

    # Aliases, so each command reads in its own words.
    PASSED = 0
    RETRY = 1
    UNREADABLE = 2


def for_status(status: str) -> ExitCode:
    """The exit code of a scan status: passed 0, failed 1, anything else (error) 3."""
    return {"passed": ExitCode.PASSED, "failed": ExitCode.FAILED}.get(status, ExitCode.ERROR)
