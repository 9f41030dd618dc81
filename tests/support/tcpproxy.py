"""A small TCP proxy on loopback, to cut a server off (a database outage) without
stopping the server other tests share. It runs its own event loop in a thread, so a test
blocked in a synchronous call cannot stall it."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

# A few app processes with pools of ~10-20 connections each; beyond this, refuse.
MAX_CONNECTIONS = 200
CHUNK = 65_536


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target``. :meth:`cut` aborts every connection
    and makes new ones close at once (a fast, clean failure for clients) until
    :meth:`restore`. :meth:`lose_next_reply` lets the next request through and aborts its
    connection instead of passing the answer back (the server did the work; the client
    cannot know). :meth:`hold_replies` keeps every answer until :meth:`release_replies`
    (requests still reach the server: a command stays "in flight" as long as a test says)."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._writers: set[asyncio.StreamWriter] = set()
        self._cut = False
        self._lose_reply = False
        self._replies_flow = asyncio.Event()
        self._replies_flow.set()
        self._server: asyncio.Server | None = None
        self.port = 0

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    def start(self) -> int:
        self._thread.start()
        self._server = self._call(self._listen())
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def _listen(self) -> asyncio.Server:
        return await asyncio.start_server(self._handle, "127.0.0.1", 0)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut or len(self._writers) >= MAX_CONNECTIONS:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._pipe(reader, up_writer))
                tasks.create_task(self._pipe(up_reader, writer, replies=True))
        except* OSError:
            pass
        finally:
            for w in (writer, up_writer):
                self._writers.discard(w)
                w.transport.abort()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, replies: bool = False
    ) -> None:
        while data := await reader.read(CHUNK):
            if replies:
                await self._replies_flow.wait()
                if self._lose_reply:
                    self._lose_reply = False
                    break
            writer.write(data)
            await writer.drain()
        writer.transport.abort()  # one side ended: end both

    def cut(self) -> None:
        self._call(self._set_cut(True))

    def restore(self) -> None:
        self._call(self._set_cut(False))

    def lose_next_reply(self) -> None:
        self._call(self._set_lose_reply())

    async def _set_lose_reply(self) -> None:
        self._lose_reply = True

    def hold_replies(self) -> None:
        self._call(self._set_replies_flow(False))

    def release_replies(self) -> None:
        self._call(self._set_replies_flow(True))

    async def _set_replies_flow(self, flowing: bool) -> None:
        if flowing:
            self._replies_flow.set()
        else:
            self._replies_flow.clear()

    async def _set_cut(self, cut: bool) -> None:
        self._cut = cut
        if cut:
            for writer in list(self._writers):
                writer.transport.abort()

    def close(self) -> None:
        async def shutdown() -> None:
            await self._set_cut(True)
            if self._server is not None:
                self._server.close()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(2):
                        await self._server.wait_closed()

        self._call(shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()


@contextmanager
def running_proxy(target_host: str, target_port: int) -> Iterator[TcpProxy]:
    proxy = TcpProxy(target_host, target_port)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.close()
