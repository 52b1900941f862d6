"""Deduplication helpers around the scan-cache table's leases.

`ScanCacheTable` (dispatcher.scancache) owns the item and its conditional writes; here are the
lease ids, the launch window, and `Memo`: a short-lived in-memory record of keys already held,
so duplicates inside one warm Lambda cost no call at all.
"""

from __future__ import annotations

import uuid

# A lease first lasts as long as one Lambda invocation can (15 min); once StartBuild returned a
# build id it is extended to LEASE_MINUTES. A dispatcher that dies in between blocks no longer.
LAUNCH_WINDOW_SECONDS = 15 * 60


def new_lease_id() -> str:
    """A fresh, unguessable lease id."""
    return uuid.uuid4().hex


class Memo:
    """Keys known to be held, remembered for `seconds` (default 60) inside one warm process."""

    def __init__(self, seconds: float = 60.0) -> None:
        self._seconds = seconds
        self._held: dict[str, tuple[float, str]] = {}

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
