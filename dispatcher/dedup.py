"""Deduplication helpers around the scan-cache table's leases.

`ScanCacheTable` (dispatcher.scancache) owns the item and its conditional writes; here are the
lease ids, the launch window, and `Memo`: a short-lived in-memory record of keys already held,
so duplicates inside one warm Lambda cost no call at all; and what it knows about build capacity:
a recent refusal (a warm Lambda asks StartBuild at most once per CAPACITY_HOLD_SECONDS while the
project is full) and the capacity line (who waits longest; it is read at most that often).
"""

from __future__ import annotations

import uuid

# A lease first lasts as long as one Lambda invocation can (15 min); once StartBuild returned a
# build id it is extended to LEASE_MINUTES. A dispatcher that dies in between blocks no longer.
LAUNCH_WINDOW_SECONDS = 15 * 60
# After StartBuild refused for capacity, this process defers launches this long without asking:
# a wave of hundreds waiting then costs a few refused calls a minute, and a freed slot stays
# unused for seconds at most (a build runs for minutes).
CAPACITY_HOLD_SECONDS = 10.0
# The capacity line (ScanCacheTable.line_end): messages sent within LINE_SLACK_SECONDS of the
# oldest one waiting form its generation; younger ones wait until that generation has its builds.
# A generation that stops being refused (all started) releases the line after LINE_SECONDS.
LINE_SLACK_SECONDS = 300.0
LINE_SECONDS = 180.0


def new_lease_id() -> str:
    """A fresh, unguessable lease id."""
    return uuid.uuid4().hex


class Memo:
    """Keys known to be held, remembered for `seconds` (default 60) inside one warm process."""

    def __init__(self, seconds: float = 60.0) -> None:
        self._seconds = seconds
        self._held: dict[str, tuple[float, str]] = {}
        self._full_until: dict[str, float] = {}  # project -> no StartBuild before
        self._lines: dict[str, tuple[float, float | None]] = {}  # project -> (read at, end)

    def get(self, key: str, now: float) -> str | None:
        """The remembered reason, while fresh."""
        entry = self._held.get(key)
        if entry is None or entry[0] < now:
            return None
        return entry[1]

    def put(self, key: str, reason: str, now: float) -> None:
        """Remember that `key` is held for `reason`."""
        if len(self._held) > 10_000:
            self._held = {k: v for k, v in self._held.items() if v[0] >= now}
        self._held[key] = (now + self._seconds, reason)

    def capacity_full(self, project: str, now: float) -> bool:
        """True while a capacity refusal of `project` is recent enough to defer without asking."""
        return now < self._full_until.get(project, float("-inf"))

    def hold_capacity(self, project: str, now: float) -> None:
        """StartBuild refused for capacity on `project` at `now`."""
        self._full_until[project] = now + CAPACITY_HOLD_SECONDS

    def line(self, project: str, now: float) -> tuple[bool, float | None]:
        """(known, generation end) of `project`'s line, read in the last CAPACITY_HOLD_SECONDS."""
        read = self._lines.get(project)
        if read is None or now - read[0] >= CAPACITY_HOLD_SECONDS:
            return False, None
        return True, read[1]

    def note_line(self, project: str, now: float, end: float | None) -> None:
        """Remember the line as just read; `forget_line` after changing it."""
        self._lines[project] = (now, end)

    def forget_line(self, project: str) -> None:
        """The line changed: read it again next time."""
        self._lines.pop(project, None)
