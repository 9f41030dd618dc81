"""A real HTTP server for driving SDKs in tests: uvicorn on 127.0.0.1, port 0.

Each fake (``fake_anthropic``, ``fake_openai``) is a plain ASGI app built on
:class:`FakeApp`: it records every request (path, headers, JSON body), plays
the next scripted :data:`Step` and notes when a client closed its connection
while the server was still streaming.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass(frozen=True)
class Reply:
    """A streamed answer: ``chunks`` of text, then usage and a normal end.

    ``error_after`` sends an in-stream error of that type after the chunks
    instead of ending normally; ``hang`` stops after the chunks and keeps the
    response open until the client goes away; ``linger`` sends the whole reply,
    its last event included, but keeps the body open until the client goes away.
    """

    chunks: tuple[str, ...] = ("Hello", " there", ".")
    input_tokens: int = 42
    output_tokens: int | None = None  # None: one per chunk
    stop_reason: str = "end_turn"
    error_after: str | None = None
    hang: bool = False
    linger: bool = False
    include_usage: bool = True

    @property
    def reported_output_tokens(self) -> int:
        return len(self.chunks) if self.output_tokens is None else self.output_tokens


@dataclass(frozen=True)
class HttpError:
    """An HTTP error status with a JSON error body of the provider's shape.

    ``headers`` are sent with it, e.g. ``(("retry-after", "1"),)``.
    """

    status: int
    error_type: str
    message: str = "scripted failure"
    headers: tuple[tuple[str, str], ...] = ()


Step = Reply | HttpError


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    #: The client's address and port: one per TCP connection the client opened.
    peer: tuple[str, int] | None = None


@dataclass
class FakeApp:
    """Base ASGI app: scripting, recording and disconnect detection."""

    script: list[Step] = field(default_factory=lambda: [Reply()])
    requests: list[RecordedRequest] = field(default_factory=list)
    # Set when a client closes its connection before the response was finished.
    client_closed: asyncio.Event = field(default_factory=asyncio.Event)
    # Set once the first text chunk of a streamed reply has been sent.
    streaming: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    def next_step(self) -> Step:
        index = min(len(self.requests) - 1, len(self.script) - 1)
        return self.script[index]

    def bodies_text(self) -> list[str]:
        return [json.dumps(request.body) for request in self.requests]

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {key.decode().lower(): value.decode() for key, value in scope["headers"]}
        peer = tuple(scope["client"]) if scope.get("client") else None
        self.requests.append(
            RecordedRequest(scope["path"], headers, json.loads(raw or b"{}"), peer)
        )
        step = self.next_step()
        if isinstance(step, HttpError):
            status, body = self.error_response(step)
            scripted = [(name.encode(), value.encode()) for name, value in step.headers]
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", b"application/json"),
                        *self.error_headers(),
                        *scripted,
                    ],
                }
            )
            await send({"type": "http.response.body", "body": json.dumps(body).encode()})
            return
        await self._stream(step, receive, send)

    async def _stream(self, step: Reply, receive: Receive, send: Send) -> None:
        finished = False

        async def watch_disconnect() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    if not finished:
                        self.client_closed.set()
                    return

        async with asyncio.TaskGroup() as group:
            watcher = group.create_task(watch_disconnect())
            try:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [(b"content-type", b"text/event-stream")],
                    }
                )
                for index, event in enumerate(self.sse_events(step)):
                    await send({"type": "http.response.body", "body": event, "more_body": True})
                    if index == 0:
                        self.streaming.set()
                if step.hang or step.linger:
                    await self.client_closed.wait()
                    return
                finished = True
                await send({"type": "http.response.body", "body": b""})
            except OSError:
                return  # the client went away while we were sending
            finally:
                watcher.cancel()

    # Provider-specific parts.
    def sse_events(self, step: Reply) -> list[bytes]:
        raise NotImplementedError

    def error_response(self, step: HttpError) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError

    def error_headers(self) -> list[tuple[bytes, bytes]]:
        """Extra headers of an error response (e.g. ``Retry-After``)."""
        return []


@asynccontextmanager
async def serving(app: FakeApp) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free local port; yields the base URL.

    The socket is bound before uvicorn starts, so the URL is usable at once
    (early connections wait in the listen backlog) and no polling is needed.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="error",
        lifespan="off",
        ws="none",
        http="h11",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=5)
        sock.close()


def sse(event: str | None, data: object) -> bytes:
    """One SSE event; ``event=None`` for the OpenAI style (data lines only)."""
    payload = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()
