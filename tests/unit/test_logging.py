"""The JSON log formatter: one line per record with the known fields, escaping intact,
a traceback as one field, the request and session from the context; join tokens cut
from access lines; text on a terminal."""

from __future__ import annotations

import io
import json
import logging
import sys

from server.logging_setup import (
    JsonFormatter,
    RedactJoinTokens,
    configure_logging,
    request_id,
    session_id,
)


def record(message: str, *args: object, level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord("vc.test", level, __file__, 1, message, args, None)


def test_fields_and_context() -> None:
    rid, sid = request_id.set("r1"), session_id.set("s1")
    try:
        line = JsonFormatter().format(record("hello %s", "world"))
    finally:
        request_id.reset(rid)
        session_id.reset(sid)
    entry = json.loads(line)
    assert entry.pop("time").endswith("+00:00")
    assert entry == {
        "level": "INFO",
        "logger": "vc.test",
        "message": "hello world",
        "request_id": "r1",
        "session_id": "s1",
    }


def test_without_context_there_are_no_ids() -> None:
    entry = json.loads(JsonFormatter().format(record("plain")))
    assert "request_id" not in entry and "session_id" not in entry


def test_escaping_keeps_one_line() -> None:
    tricky = 'quote " backslash \\ newline \n tab \t unicode é \u2028 end'
    line = JsonFormatter().format(record(tricky))
    assert "\n" not in line
    assert json.loads(line)["message"] == tricky


def test_exception_is_one_field() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        failed = logging.LogRecord(
            "vc.test", logging.ERROR, __file__, 1, "failed", None, sys.exc_info()
        )
    line = JsonFormatter().format(failed)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "failed"
    assert entry["exception"].startswith("Traceback")
    assert "ValueError: boom" in entry["exception"]


def test_join_tokens_are_cut_from_access_lines() -> None:
    access = record('%s - "%s %s HTTP/%s" %d', "1.2.3.4", "GET", "/join/s3cr3t?x=1", "1.1", 303)
    RedactJoinTokens().filter(access)
    assert "s3cr3t" not in access.getMessage()
    assert "/join/…?x=1" in access.getMessage()


def test_configure_picks_json_off_a_terminal_and_text_when_asked() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        stream = io.StringIO()  # not a terminal: auto means JSON
        configure_logging("auto", "info", stream)
        logging.getLogger("vc.test").info("to json")
        assert json.loads(stream.getvalue())["message"] == "to json"
        stream = io.StringIO()
        configure_logging("text", "warning", stream)
        logging.getLogger("vc.test").info("dropped")
        logging.getLogger("vc.test").warning("as text")
        assert "dropped" not in stream.getvalue()
        assert stream.getvalue().rstrip().endswith("WARNING vc.test: as text")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
