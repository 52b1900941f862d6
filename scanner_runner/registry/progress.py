"""A one-line progress bar on stderr, redrawn at most a few times a second (thread-safe)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO


class Progress:
    """Counts bytes from several download threads and draws `[####   ] 42% 12.0/28.5 MB`."""

    def __init__(
        self,
        total: int,
        *,
        label: str = "",
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        interval: float = 0.1,
    ) -> None:
        self.total = max(total, 1)
        self.done = 0
        self._label = label
        self._stream = stream if stream is not None else sys.stderr
        self._clock = clock
        self._interval = interval
        self._last = float("-inf")
        self._lock = threading.Lock()

    def add(self, count: int) -> None:
        """Record `count` more bytes and redraw when due."""
        with self._lock:
            self.done += count
            now = self._clock()
            if now - self._last >= self._interval:
                self._last = now
                self._draw()

    def finish(self) -> None:
        """Draw the final state and end the line."""
        with self._lock:
            self._draw()
            self._stream.write("\n")
            self._stream.flush()

    def _draw(self) -> None:
        fraction = min(self.done / self.total, 1.0)
        bar = "#" * int(fraction * 30)
        self._stream.write(
            f"\r{self._label} [{bar:<30}] {fraction:4.0%} "
            f"{self.done / 1e6:.1f}/{self.total / 1e6:.1f} MB"
        )
        self._stream.flush()
