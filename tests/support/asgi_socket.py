"""A WebSocket client that speaks ASGI to an app running in the test's own event loop: the
in-process tier's socket (httpx's ``ASGITransport`` speaks HTTP only).

    async with AsgiSocket(app, f"/ws/sessions/{sid}", cookies=client.cookies) as sock:
        welcome = await sock.recv()
        closed = await sock.closed()   # the server's close frame: code and reason

Entering raises :class:`Refused` when the app closes the socket before accepting it (a
real server answers that handshake with HTTP 403).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx
from starlette.types import ASGIApp, Message

#: Every wait is bounded: generous for a loaded CI machine, never a sleep.
WAIT = 10.0
HOST = "testserver"


@dataclass(frozen=True)
class Closed:
    code: int
    reason: str


class Refused(Exception):
    def __init__(self, closed: Closed) -> None:
        super().__init__(f"handshake refused with {closed.code} {closed.reason!r}")
        self.closed = closed


class AsgiSocket:
    def __init__(
        self,
        app: ASGIApp,
        path: str,
        *,
        cookies: httpx.Cookies,
        origin: str | None = f"http://{HOST}",
        headers: dict[str, str] | None = None,
        client: tuple[str, int] = ("127.0.0.1", 50000),
        root_path: str = "",
    ) -> None:
        """``origin=None`` sends no Origin header; ``headers`` are sent besides;
        ``root_path``: the app is mounted there (``path`` is then under it)."""
        cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
        self._scope: dict[str, Any] = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "http_version": "1.1",
            "path": root_path + path,
            "raw_path": (root_path + path).encode(),
            "query_string": b"",
            "root_path": root_path,
            "server": (HOST, 80),
            "client": client,
            "subprotocols": [],
            "headers": [
                (b"host", HOST.encode()),
                *([(b"origin", origin.encode())] if origin is not None else []),
                (b"cookie", cookie.encode()),
                *(
                    (name.lower().encode(), value.encode())
                    for name, value in (headers or {}).items()
                ),
            ],
        }
        self._app = app
        self._incoming: asyncio.Queue[Message] = asyncio.Queue()
        self._outgoing: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.close_frame: Closed | None = None

    async def __aenter__(self) -> AsgiSocket:
        self._incoming.put_nowait({"type": "websocket.connect"})
        self._task = asyncio.create_task(self._serve())
        first = await self._next()
        if first["type"] == "websocket.close":
            await self._finish()
            raise Refused(Closed(first.get("code", 1000), first.get("reason", "")))
        assert first["type"] == "websocket.accept", first
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.close_frame is None:
            self._incoming.put_nowait({"type": "websocket.disconnect", "code": 1000})
        await self._finish()

    def awaiting(self) -> list[str]:
        """The qualified names of the coroutines the app's task is suspended in, outermost
        first: what an open socket holds for its whole life."""
        names: list[str] = []
        coro: Any = self._task.get_coro() if self._task is not None else None
        while coro is not None and hasattr(coro, "cr_code"):
            names.append(coro.cr_code.co_qualname)
            coro = coro.cr_await
        return names

    async def _serve(self) -> None:
        await self._app(self._scope, self._incoming.get, self._outgoing.put)

    async def send(self, **frame: Any) -> None:
        self._incoming.put_nowait({"type": "websocket.receive", "text": json.dumps(frame)})

    async def send_raw(self, text: str) -> None:
        """One text frame exactly as given (malformed JSON included)."""
        self._incoming.put_nowait({"type": "websocket.receive", "text": text})

    async def recv(self, within: float = WAIT) -> dict[str, Any]:
        """The next frame the app sent. Raises :class:`ClosedError` at the close frame."""
        message = await self._next(within)
        if message["type"] == "websocket.close":
            self.close_frame = Closed(message.get("code", 1000), message.get("reason", ""))
            raise ClosedError(self.close_frame)
        event: dict[str, Any] = json.loads(message["text"])
        return event

    async def closed(self, within: float = WAIT) -> Closed:
        """Skip frames until the app closes the socket (at most ``within`` seconds)."""
        async with asyncio.timeout(within):
            while True:
                try:
                    await self.recv(within)
                except ClosedError as error:
                    return error.closed

    async def _next(self, within: float = WAIT) -> Message:
        async with asyncio.timeout(within):
            return await self._outgoing.get()

    async def _finish(self) -> None:
        if self._task is not None:
            async with asyncio.timeout(WAIT):
                await self._task


class ClosedError(Exception):
    def __init__(self, closed: Closed) -> None:
        super().__init__(f"closed with {closed.code} {closed.reason!r}")
        self.closed = closed
