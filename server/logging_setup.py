"""Logs: one JSON object per line (or plain text on a terminal), with the request and
session they belong to.

``request_id`` and ``session_id`` are context variables: :class:`RequestIdMiddleware`
sets the first for every HTTP request and socket (echoed as ``X-Request-Id``), the socket
endpoint sets the second; tasks started inside inherit both. Nothing at info level may
carry what people typed, tokens, cookies or passwords: uvicorn's access lines have the
secret of join links (``/join/<token>``) cut out by :class:`RedactJoinTokens`.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "JsonFormatter",
    "RedactJoinTokens",
    "RequestIdMiddleware",
    "configure_logging",
    "request_id",
    "session_id",
    "uvicorn_log_config",
]

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
session_id: ContextVar[str | None] = ContextVar("session_id", default=None)

LogFormat = Literal["auto", "json", "text"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_JOIN_TOKEN = re.compile(r"(/join/)[^/?\s\"]+")


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", ["request_id"], ["session_id"],
    ["exception"]}`` on one line; the traceback is one escaped string field."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for var in (request_id, session_id):
            value = var.get()
            if value is not None:
                entry[var.name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class RedactJoinTokens(logging.Filter):
    """Replaces the secret in ``/join/<token>`` paths of a record's arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _JOIN_TOKEN.sub(r"\1…", arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


def _json_wanted(log_format: LogFormat, stream: TextIO) -> bool:
    if log_format == "auto":
        return not stream.isatty()
    return log_format == "json"


def _formatter_config(log_format: LogFormat, stream: TextIO) -> dict[str, Any]:
    if _json_wanted(log_format, stream):
        return {"()": JsonFormatter}
    return {"format": TEXT_FORMAT}


def uvicorn_log_config(
    log_format: LogFormat, level: str, stream: TextIO = sys.stderr
) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for ``uvicorn.run(log_config=...)``: the root
    logger and uvicorn's own (access lines included) through one stderr handler."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": _formatter_config(log_format, stream)},
        "filters": {"join_tokens": {"()": RedactJoinTokens}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["join_tokens"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": {
            name: {"handlers": [], "level": level.upper(), "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


def configure_logging(log_format: LogFormat, level: str, stream: TextIO = sys.stderr) -> None:
    """Route every logger through one handler on ``stream`` (for ``vclient watchdog`` and
    ``flusher``; ``serve`` hands :func:`uvicorn_log_config` to uvicorn instead)."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactJoinTokens())
    if _json_wanted(log_format, stream):
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


class RequestIdMiddleware:
    """A fresh ``request_id`` (uuid4 hex) for each HTTP request and socket, in the log
    context and echoed as ``X-Request-Id`` on HTTP responses."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rid = uuid.uuid4().hex
        token = request_id.set(rid)
        if scope["type"] == "websocket":
            # A socket has no response headers to stamp, and wrapping its send would add
            # a coroutine to every frame it ever carries (3% of a loaded worker's CPU).
            try:
                await self.app(scope, receive, send)
            finally:
                request_id.reset(token)
            return

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["x-request-id"] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
