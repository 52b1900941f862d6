"""The dispatcher's JSON log lines, as the Lambda runtime's own root handler emits them."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

from dispatcher.logs import DECISION_LOGGER, JsonFormatter, configure


class RequestIdStamp(logging.Filter):
    """What the Python Lambda runtime puts on its root handler: the current request id."""

    def __init__(self) -> None:
        super().__init__()
        self.request_id = ""  # the runtime's value before the first invocation

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


def _lambda_root() -> tuple[logging.Logger, io.StringIO, RequestIdStamp]:
    """A stand-alone root logger with a runtime-like handler (the real root stays untouched)."""
    root = logging.Logger("lambda-root")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("[%(levelname)s]\t%(aws_request_id)s\t%(message)s"))
    stamp = RequestIdStamp()
    handler.addFilter(stamp)
    root.addHandler(handler)
    return root, stream, stamp


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_record_with_a_request_id_renders_it() -> None:
    record = logging.makeLogRecord(
        {"name": DECISION_LOGGER, "msg": "decision", "levelname": "INFO", "levelno": 20,
         "aws_request_id": "8f5e2c1a-0b7d-4e3f-9a61-2d4c8b7e5f30",
         "fields": {"action": "build", "reason": None}}
    )  # fmt: skip
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "8f5e2c1a-0b7d-4e3f-9a61-2d4c8b7e5f30"
    assert (line["message"], line["action"], line["reason"]) == ("decision", "build", None)


def test_a_record_without_a_request_id_has_no_such_key() -> None:
    for extra in ({}, {"aws_request_id": ""}):
        record = logging.makeLogRecord({"msg": "cold start", **extra})
        assert "request_id" not in json.loads(JsonFormatter().format(record))


def test_configure_keeps_the_runtime_handler_and_its_request_id() -> None:
    root, stream, stamp = _lambda_root()
    configure("INFO", root)
    root.debug("below the level")
    root.info("before any invocation")
    stamp.request_id = "req-1"
    root.info("decision", extra={"fields": {"action": "skip", "reason": "duplicate"}})
    stamp.request_id = "req-2"
    root.warning("next invocation")
    assert len(root.handlers) == 1  # the runtime's handler, reformatted, not a second one
    lines = _lines(stream)
    assert [x["message"] for x in lines] == ["before any invocation", "decision", "next invocation"]
    assert [x.get("request_id") for x in lines] == [None, "req-1", "req-2"]
    assert (lines[1]["action"], lines[1]["reason"], lines[2]["level"]) == (
        "skip",
        "duplicate",
        "WARNING",
    )
