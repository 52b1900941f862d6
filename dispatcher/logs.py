"""Structured logs: one JSON object per line, one line per decision."""

from __future__ import annotations

import json
import logging
from typing import Any

DECISION_LOGGER = "deployscan.dispatcher"


class JsonFormatter(logging.Formatter):
    """Render a log record as one JSON line; `extra={"fields": {...}}` adds keys."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as JSON (time, level, logger, message and the record's fields)."""
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=True)


def configure(level: str) -> None:
    """Render every log line as JSON at `level` (once per cold start).

    The Lambda runtime installs its own root handler; it keeps it and only swaps the formatter.
    """
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    for handler in root.handlers:
        handler.setFormatter(JsonFormatter())
    root.setLevel(level)
