"""The bare baseline: what streaming an upstream to a session's sockets costs with nothing
else in the way (no Redis, no SQL, no budgets, no auth, no log), in its own process.

    python -m bench.baseline --port P --upstream http://127.0.0.1:U/v1

A Starlette app under uvicorn with the product's socket settings. ``/ws/sessions/{id}``
joins an in-process room; a ``say`` streams the upstream with httpx and forwards each
chunk at once to every socket of the room, in the product's frame shapes (``welcome``,
``message``, ``reply.start``, ``reply.delta`` with ``seq``, ``reply.done``, ``presence``
on every join and leave), so one load driver serves both.

``--client aiohttp`` streams the upstream with aiohttp instead, the product's client for
OpenAI-compatible servers (``llm/openai.py``): the issue's baseline uses httpx, and this
one tells how much of the product's distance from it is the HTTP client.
"""

from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import aiohttp
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from bench.targets import ROLE_HEADER
from realtime.vocabulary import ClientType, ErrorCode, EventType, MessageRole, Role

#: The product's per-provider-request timeout default (LLM_TIMEOUT_SECONDS).
UPSTREAM_TIMEOUT_S = 60.0
#: One upstream stream per live reply, unbounded: httpx's default pool (100 connections)
#: would queue the 101st reply and the baseline would measure its pool, not its fan-out.
UPSTREAM_LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=1_000)
#: Rooms are spread over this many httpx clients. httpcore's pool scans all its
#: connections (a poll() each) whenever a request starts or ends (O(N^2) in a burst, see
#: encode/httpcore#1035): with one client, 150 live streams spent half of this loop there.
UPSTREAM_CLIENTS = 16

Client = Literal["httpx", "aiohttp"]


class Upstream(Protocol):
    def lines(self, index: int, body: dict[str, Any]) -> AsyncIterator[str]:
        """The streamed answer's lines, through client ``index`` of :data:`UPSTREAM_CLIENTS`."""
        ...

    async def aclose(self) -> None: ...


class HttpxUpstream:
    def __init__(self, url: str) -> None:
        self.url = url
        self.clients = [
            httpx.AsyncClient(timeout=UPSTREAM_TIMEOUT_S, limits=UPSTREAM_LIMITS)
            for _ in range(UPSTREAM_CLIENTS)
        ]

    async def lines(self, index: int, body: dict[str, Any]) -> AsyncIterator[str]:
        async with self.clients[index].stream("POST", self.url, json=body) as response:
            async for line in response.aiter_lines():
                yield line

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


class AiohttpUpstream:
    """One session, unbounded (aiohttp's pool has no scan to spread)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session: aiohttp.ClientSession | None = None  # made on the running loop

    async def lines(self, index: int, body: dict[str, Any]) -> AsyncIterator[str]:
        if self.session is None:
            self.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0),
                timeout=aiohttp.ClientTimeout(total=None, sock_read=UPSTREAM_TIMEOUT_S),
            )
        async with self.session.post(self.url, json=body) as response:
            async for line in response.content:
                yield line.decode()

    async def aclose(self) -> None:
        if self.session is not None:
            await self.session.close()


@dataclass
class Room:
    client: int  # which of the upstream clients streams this room's replies
    sockets: set[WebSocket] = field(default_factory=set)
    students: set[WebSocket] = field(default_factory=set)
    seq: int = 0
    replying: bool = False

    async def broadcast(self, **event: Any) -> None:
        self.seq += 1
        text = json.dumps({**event, "seq": self.seq})
        for socket in list(self.sockets):
            try:
                await socket.send_text(text)
            except (WebSocketDisconnect, RuntimeError):
                self.sockets.discard(socket)
                self.students.discard(socket)

    async def announce(self) -> None:
        await self.broadcast(
            type=EventType.PRESENCE,
            student_online=bool(self.students),
            observers=len(self.sockets) - len(self.students),
        )


@dataclass
class Baseline:
    upstream: Upstream
    rooms: dict[str, Room] = field(default_factory=dict)

    async def socket(self, websocket: WebSocket) -> None:
        session_id = str(websocket.path_params["id"])
        room = self.rooms.setdefault(session_id, Room(len(self.rooms) % UPSTREAM_CLIENTS))
        await websocket.accept()
        await websocket.send_text(
            json.dumps({"type": EventType.WELCOME, "session_id": session_id, "last_seq": room.seq})
        )
        room.sockets.add(websocket)
        if websocket.headers.get(ROLE_HEADER) == Role.STUDENT:
            room.students.add(websocket)
        await room.announce()
        try:
            while True:
                frame = json.loads(await websocket.receive_text())
                if frame.get("type") == ClientType.SAY:
                    await self.say(websocket, room, str(frame.get("text", "")))
        except WebSocketDisconnect:
            pass
        finally:
            room.sockets.discard(websocket)
            room.students.discard(websocket)
            if room.sockets:
                await room.announce()
            elif self.rooms.get(session_id) is room:
                del self.rooms[session_id]

    async def say(self, websocket: WebSocket, room: Room, text: str) -> None:
        """Stream one reply inline: the sayer waits for its reply anyway."""
        if room.replying:
            error = {"type": EventType.ERROR, "code": ErrorCode.REPLY_IN_PROGRESS, "message": ""}
            await websocket.send_text(json.dumps(error))
            return
        room.replying = True
        reply_id = uuid.uuid4().hex
        try:
            await room.broadcast(type=EventType.MESSAGE, role=MessageRole.STUDENT, text=text)
            await room.broadcast(type=EventType.REPLY_START, reply_id=reply_id)
            parts: list[str] = []
            usage: dict[str, Any] = {}
            async for chunk in self._stream(room.client, text):
                usage = chunk.get("usage") or usage
                for choice in chunk.get("choices") or ():
                    if content := (choice.get("delta") or {}).get("content"):
                        parts.append(content)
                        await room.broadcast(
                            type=EventType.REPLY_DELTA, reply_id=reply_id, text=content
                        )
            await room.broadcast(
                type=EventType.REPLY_DONE,
                reply_id=reply_id,
                message_id=uuid.uuid4().hex,
                text="".join(parts),
                usage={
                    "input_tokens": usage.get("prompt_tokens", 0),
                    "output_tokens": usage.get("completion_tokens", 0),
                },
                stopped=False,
            )
        finally:
            room.replying = False

    async def _stream(self, client: int, text: str) -> AsyncIterator[dict[str, Any]]:
        body = {
            "model": "bench",
            "messages": [
                {"role": "system", "content": "You are a client in a counselling session."},
                {"role": "user", "content": text},
            ],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        async for line in self.upstream.lines(client, body):
            if line.startswith("data:") and (data := line[5:].strip()) != "[DONE]":
                yield json.loads(data)


def create_app(upstream: str, client: Client = "httpx") -> Starlette:
    url = upstream.rstrip("/") + "/chat/completions"
    streams = HttpxUpstream(url) if client == "httpx" else AiohttpUpstream(url)
    baseline = Baseline(streams)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await streams.aclose()

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    routes = [Route("/healthz", healthz), WebSocketRoute("/ws/sessions/{id}", baseline.socket)]
    return Starlette(routes=routes, lifespan=lifespan)


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="the upstream's base URL, with /v1")
    parser.add_argument("--client", choices=["httpx", "aiohttp"], default="httpx")
    args = parser.parse_args(argv)
    # The product's socket settings (server/cli.py), so the comparison is of what runs
    # behind the socket, not of two WebSocket stacks.
    uvicorn.run(
        create_app(args.upstream, args.client),
        host=args.host,
        port=args.port,
        ws="websockets-sansio",
        ws_max_size=1 << 20,
        ws_ping_interval=15.0,
        ws_ping_timeout=15.0,
        ws_per_message_deflate=False,  # WS_COMPRESSION's default
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
