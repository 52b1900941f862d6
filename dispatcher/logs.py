"""Structured logs: one JSON object per line, one line per decision.

This formatter is the only place the dispatcher's log format is set: the stack leaves the
function's LoggingConfig at Lambda's plain-text format, so these lines reach CloudWatch as written.
"""

from __future__ import annotations

import json
import logging
from typing import Any

DECISION_LOGGER = "deployscan.dispatcher"


class JsonFormatter(logging.Formatter):
    """Render a log record as one JSON line; `extra={"fields": {...}}` adds keys."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as JSON (time, level, logger, request id, message and the record's fields)."""
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
        }
        # The Lambda runtime's handler filter sets `aws_request_id` on every record ("" before
        # the first invocation); it ties a line to its invocation's START/END/REPORT lines.
        request_id = getattr(record, "aws_request_id", None)
        if isinstance(request_id, str) and request_id:
            line["request_id"] = request_id
        line["message"] = record.getMessage()
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=True)


def configure(level: str, root: logging.Logger | None = None) -> None:
    """Render every log line of `root` (the root logger) as JSON at `level`, once per cold start.

    The Lambda runtime installs its own root handler; it keeps it (and the filter on it that
    stamps each record with the request id) and only swaps the formatter.
    """
    root = root or logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    for handler in root.handlers:
        handler.setFormatter(JsonFormatter())
    root.setLevel(level)
