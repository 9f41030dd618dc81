"""Frames written straight to uvicorn's transport (server/ws_direct.py), over real sockets
to a uvicorn ``Server`` in the test's loop: what arrives is what the ASGI path would have
sent, in order, at every length the header spells differently; and the shortcut declines
(nothing written) whenever the ASGI path would wait or differ: the transport pushing back,
the close sent, permessage-deflate negotiated, another server's ``send``."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosedOK
from websockets.frames import Frame, Opcode

from realtime.wsframe import text_frame
from server.ws_direct import DirectWrites

WAIT = 10.0
#: Frames this long fill a loopback socket's buffers and the transport's 64 KiB mark
#: within a few hundred writes once the client stops reading.
BIG = 256 * 1024
MOST_WRITES = 2_000


@dataclass
class Served:
    """The server's side of the one socket the app accepted."""

    send: asyncio.Future[Send] = field(default_factory=asyncio.Future)
    closing: asyncio.Event = field(default_factory=asyncio.Event)


def app_for(served: Served) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "websocket"
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        served.send.set_result(send)
        await served.closing.wait()
        with contextlib.suppress(Exception):  # a test may have closed it already
            await send({"type": "websocket.close", "code": 1000, "reason": ""})
        while (await receive())["type"] != "websocket.disconnect":
            pass

    return app


@contextlib.asynccontextmanager
async def uvicorn_socket(
    *, deflate: bool = False
) -> AsyncIterator[tuple[DirectWrites | None, Send, ClientConnection, Served]]:
    served = Served()
    # Listening before uvicorn starts: the client's connect waits in the backlog until
    # the server accepts it, so nothing polls for the server to be up.
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    port = listening.getsockname()[1]
    config = uvicorn.Config(
        app_for(served),
        ws="websockets-sansio",
        ws_per_message_deflate=deflate,
        log_level="warning",
        lifespan="off",
    )
    server = uvicorn.Server(config)
    running = asyncio.create_task(server.serve(sockets=[listening]))
    try:
        async with connect(
            f"ws://127.0.0.1:{port}/",
            compression="deflate" if deflate else None,
            max_size=None,
            open_timeout=WAIT,
        ) as client:
            send = await asyncio.wait_for(served.send, WAIT)
            yield DirectWrites.of(send), send, client, served
            served.closing.set()
    finally:
        served.closing.set()
        server.should_exit = True
        await asyncio.wait_for(running, WAIT)
        listening.close()


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65_535, 65_536, 200_000])
def test_a_text_frame_is_what_websockets_itself_makes(size: int) -> None:
    text = ("é" * size)[: max(size - size // 3, 0)] + "x" * (size // 3)
    payload = text.encode()
    assert text_frame(text) == Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])


async def test_frames_arrive_whole_and_in_order_between_asgi_sends() -> None:
    async with uvicorn_socket() as (direct, send, client, _):
        assert direct is not None, "uvicorn's websockets-sansio send was not recognised"
        texts = [f"{n}:" + "ab" * n for n in (0, 62, 63, 64, 32_767, 32_768, 100_000)]
        for n, text in enumerate(texts):
            if n % 2:
                await send({"type": "websocket.send", "text": text})
            else:
                assert direct.write(text_frame(text))
        got = [await asyncio.wait_for(client.recv(), WAIT) for _ in texts]
        assert got == texts


async def test_a_transport_pushing_back_is_left_to_the_asgi_path() -> None:
    async with uvicorn_socket() as (direct, _, client, _served):
        assert direct is not None
        frame = text_frame("z" * BIG)
        written = 0
        # The client reads nothing meanwhile: the kernel's buffers fill, then uvicorn's
        # transport passes its high-water mark and pauses writing.
        while direct.write(frame):
            written += 1
            assert written < MOST_WRITES, "the transport never pushed back"
        refused = written
        got = 0
        while got < refused:
            assert len(await asyncio.wait_for(client.recv(), WAIT)) == BIG
            got += 1
        # Drained: the transport takes frames again, and they follow the rest.
        assert direct.write(text_frame("after"))
        assert await asyncio.wait_for(client.recv(), WAIT) == "after"


async def test_nothing_is_written_once_the_close_is_sent() -> None:
    async with uvicorn_socket() as (direct, send, client, _):
        assert direct is not None
        assert direct.write(text_frame("before"))
        await send({"type": "websocket.close", "code": 1000, "reason": ""})
        assert not direct.write(text_frame("after the close"))
        assert await asyncio.wait_for(client.recv(), WAIT) == "before"
        with pytest.raises(ConnectionClosedOK):
            await asyncio.wait_for(client.recv(), WAIT)


async def test_a_compressed_socket_is_left_to_the_asgi_path() -> None:
    async with uvicorn_socket(deflate=True) as (direct, send, client, _):
        assert client.response is not None
        assert "permessage-deflate" in (
            client.response.headers.get("Sec-WebSocket-Extensions") or ""
        )
        assert direct is not None
        assert not direct.write(text_frame("would be sent uncompressed"))
        await send({"type": "websocket.send", "text": "compressed"})
        assert await asyncio.wait_for(client.recv(), WAIT) == "compressed"


async def test_another_servers_send_has_no_shortcut() -> None:
    async def send(message: object) -> None:
        pass

    assert DirectWrites.of(send) is None
