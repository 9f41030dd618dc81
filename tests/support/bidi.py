"""A small WebDriver BiDi client for Debian's ``firefox-esr`` (Playwright's Firefox needs a
patched build we cannot download; stock Firefox speaks BiDi itself).

``open_firefox()`` starts a headless Firefox (:mod:`tests.support.firefox`), opens a BiDi session
over its WebSocket and collects ``log.entryAdded`` events; ``Tab`` wraps one browsing
context (navigate, evaluate, wait_for, click, type_text, cookies, screenshot). Spec:
https://w3c.github.io/webdriver-bidi/ (commands are ``module.method`` with ``params``; the
answer carries the command's ``id``, events carry ``"type": "event"``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from tests.support.firefox import EXIT_TIMEOUT_SECONDS, FIREFOX, launch

__all__ = ["FIREFOX", "BiDiError", "BiDiSession", "LogEntry", "Tab", "open_firefox"]

# Every command answers within ~100 ms here except navigation, which waits for the page.
COMMAND_TIMEOUT_SECONDS = 15.0
# wait_for polls page state this often: ~20 evaluations a second cost nothing measurable.
POLL_INTERVAL_SECONDS = 0.05
# Events kept for inspection; a test page logs a handful, this only bounds a runaway page.
MAX_EVENTS = 10_000
# Full-page PNGs arrive base64-encoded in one frame: a few MB, above websockets' 1 MiB.
MAX_FRAME_BYTES = 64 * 1024 * 1024


class BiDiError(Exception):
    """The browser answered a command with an error (``error`` is the spec's error code)."""

    def __init__(self, method: str, error: str, message: str) -> None:
        super().__init__(f"{method}: {error}: {message}")
        self.error = error


@dataclass(frozen=True)
class LogEntry:
    """A ``log.entryAdded`` event: ``kind`` is ``console`` or ``javascript`` (uncaught)."""

    kind: str
    level: str
    text: str
    context: str | None


class BiDiSession:
    """One BiDi session over one WebSocket. Use ``connect()``; commands may run concurrently
    (answers are matched by id). Cancelling ``command()`` is safe: a late answer is dropped."""

    def __init__(self, socket: ClientConnection) -> None:
        self._socket = socket
        self._ids = count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._closed = False
        self.events: deque[dict[str, Any]] = deque(maxlen=MAX_EVENTS)

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, ws_url: str) -> AsyncIterator[BiDiSession]:
        """Open ``ws_url`` (``.../session``), start a session, subscribe to log entries; on
        exit close the browser (best effort) and the socket."""
        async with websockets.connect(ws_url, max_size=MAX_FRAME_BYTES) as socket:
            session = cls(socket)
            reader = asyncio.create_task(session._read(), name="bidi-reader")
            try:
                await session.command("session.new", {"capabilities": {}})
                await session.command("session.subscribe", {"events": ["log.entryAdded"]})
                yield session
                with contextlib.suppress(BiDiError, ConnectionError, TimeoutError):
                    async with asyncio.timeout(EXIT_TIMEOUT_SECONDS):
                        await session.command("browser.close", {})
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader

    async def command(self, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Send one command and return its ``result`` (wrap it in ``asyncio.timeout`` for a
        shorter wait than ``COMMAND_TIMEOUT_SECONDS``).

        Raises ``BiDiError`` on an error answer, ``TimeoutError`` after
        ``COMMAND_TIMEOUT_SECONDS``, ``ConnectionError`` when the socket closes first."""
        if self._closed:
            raise ConnectionError(f"{method}: the BiDi socket is closed")
        command_id = next(self._ids)
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[command_id] = answer
        try:
            await self._socket.send(
                json.dumps({"id": command_id, "method": method, "params": dict(params)})
            )
            async with asyncio.timeout(COMMAND_TIMEOUT_SECONDS):
                message = await answer
        except TimeoutError:
            raise TimeoutError(f"{method}: no answer within {COMMAND_TIMEOUT_SECONDS} s") from None
        except websockets.ConnectionClosed as closed:
            raise ConnectionError(f"{method}: the BiDi socket closed ({closed})") from None
        finally:
            self._pending.pop(command_id, None)
        if message.get("type") == "error":
            raise BiDiError(method, str(message.get("error")), str(message.get("message")))
        result: dict[str, Any] = message.get("result", {})
        return result

    def log_entries(self, context: str | None = None) -> list[LogEntry]:
        """Log entries so far, of one browsing context or of all."""
        entries = [
            LogEntry(
                kind=str(params.get("type")),
                level=str(params.get("level")),
                text=str(params.get("text")),
                context=params.get("source", {}).get("context"),
            )
            for event in self.events
            if event.get("method") == "log.entryAdded"
            for params in [event.get("params", {})]
        ]
        return [entry for entry in entries if context is None or entry.context == context]

    async def new_tab(self, width: int = 1280, height: int = 860) -> Tab:
        """A new top-level tab with a fixed viewport."""
        created = await self.command("browsingContext.create", {"type": "tab"})
        tab = Tab(self, str(created["context"]))
        await self.command(
            "browsingContext.setViewport",
            {
                "context": tab.context,
                "viewport": {"width": width, "height": height},
            },
        )
        return tab

    async def _read(self) -> None:
        try:
            async for raw in self._socket:
                message: dict[str, Any] = json.loads(raw)
                if message.get("type") == "event":
                    self.events.append(message)
                    continue
                answer = self._pending.get(message.get("id", -1))
                if answer is not None and not answer.done():
                    answer.set_result(message)
        finally:  # closed or cancelled: nobody may wait for an answer that cannot come
            self._closed = True
            for answer in self._pending.values():
                if not answer.done():
                    answer.set_exception(ConnectionError("the BiDi socket closed"))


class Tab:
    """One top-level browsing context."""

    def __init__(self, session: BiDiSession, context: str) -> None:
        self.session = session
        self.context = context

    async def navigate(self, url: str) -> str:
        """Load ``url`` and wait for the ``load`` event; returns the final URL (after
        redirects)."""
        result = await self.session.command(
            "browsingContext.navigate", {"context": self.context, "url": url, "wait": "complete"}
        )
        return str(result["url"])

    async def evaluate(self, expression: str) -> Any:
        """The value of ``expression`` in the page (awaited if it is a promise), as JSON-like
        Python values. Raises ``BiDiError`` (``javascript error``) when it throws."""
        result = await self.session.command(
            "script.evaluate",
            {
                "expression": expression,
                "target": {"context": self.context},
                "awaitPromise": True,
            },
        )
        if result.get("type") == "exception":
            details = result.get("exceptionDetails", {})
            raise BiDiError("script.evaluate", "javascript error", str(details.get("text")))
        return _python_value(result["result"])

    # The deadline is part of the poll and named in its error, as in Playwright's waits.
    async def wait_for(self, predicate: str, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Poll the JavaScript ``predicate`` until it is truthy (waiting on page state the
        page has no event for from outside). Raises ``TimeoutError`` with the predicate."""
        deadline = time.monotonic() + timeout
        while not await self.evaluate(f"Boolean({predicate})"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"not true within {timeout} s: {predicate}")
            await asyncio.sleep(POLL_INTERVAL_SECONDS)  # polling page state, not a race

    async def click(self, selector: str) -> None:
        """A real mouse click (pointer actions) in the middle of the first match."""
        node = await self._node(selector)
        await self._perform(
            [
                {
                    "type": "pointer",
                    "id": "mouse",
                    "parameters": {"pointerType": "mouse"},
                    "actions": [
                        {
                            "type": "pointerMove",
                            "x": 0,
                            "y": 0,
                            "origin": {"type": "element", "element": {"sharedId": node}},
                        },
                        {"type": "pointerDown", "button": 0},
                        {"type": "pointerUp", "button": 0},
                    ],
                }
            ]
        )

    async def type_text(self, selector: str, text: str) -> None:
        """Focus the first match and type ``text`` with key actions ("\\ue007" is Enter)."""
        await self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        keys: list[dict[str, str]] = []
        for char in text:
            keys += [{"type": "keyDown", "value": char}, {"type": "keyUp", "value": char}]
        await self._perform([{"type": "key", "id": "keyboard", "actions": keys}])

    async def cookies(self) -> list[dict[str, Any]]:
        """The cookies this tab would send (HttpOnly ones too), values decoded."""
        result = await self.session.command(
            "storage.getCookies", {"partition": {"type": "context", "context": self.context}}
        )
        return [{**cookie, "value": cookie["value"].get("value")} for cookie in result["cookies"]]

    async def screenshot(self, path: Path) -> None:
        """Save the whole document as a PNG."""
        result = await self.session.command(
            "browsingContext.captureScreenshot",
            {
                "context": self.context,
                "origin": "document",
            },
        )
        await asyncio.to_thread(_write_file, path, base64.b64decode(result["data"]))

    async def _node(self, selector: str) -> str:
        result = await self.session.command(
            "script.evaluate",
            {
                "expression": f"document.querySelector({json.dumps(selector)})",
                "target": {"context": self.context},
                "awaitPromise": False,
            },
        )
        value = result.get("result", {})
        if value.get("type") != "node":
            raise LookupError(f"no element matches {selector!r}")
        return str(value["sharedId"])

    async def _perform(self, actions: list[dict[str, Any]]) -> None:
        await self.session.command(
            "input.performActions", {"context": self.context, "actions": actions}
        )
        await self.session.command("input.releaseActions", {"context": self.context})


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _python_value(remote: dict[str, Any]) -> Any:
    """A BiDi ``script.RemoteValue`` as plain Python (nodes and other handles stay dicts)."""
    kind = remote.get("type")
    if kind in ("undefined", "null"):
        return None
    if kind in ("string", "boolean", "number", "bigint"):
        return remote["value"]
    if kind == "array":
        return [_python_value(item) for item in remote.get("value", [])]
    if kind == "object":
        return {str(key): _python_value(value) for key, value in remote.get("value", [])}
    return remote


@contextlib.asynccontextmanager
async def open_firefox(binary: Path = FIREFOX) -> AsyncIterator[BiDiSession]:
    """Headless Firefox plus a BiDi session on it, both gone when the block ends."""
    async with launch(binary) as firefox, BiDiSession.connect(firefox.ws_url) as session:
        yield session
