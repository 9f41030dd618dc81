"""A socket's outbox: encoded frames waiting for its writer, bounded, and what a client
too slow to keep up gets (closed with 4008, to resume with ``after``)."""

from __future__ import annotations

import asyncio

from realtime.events import ServerModel
from realtime.socketparts import Closing, SocketParts
from realtime.vocabulary import CloseCode

__all__ = ["Outbox"]


class Outbox:
    __slots__ = ("_frames", "_parts")

    def __init__(self, parts: SocketParts) -> None:
        self._parts = parts
        self._frames: asyncio.Queue[str] = asyncio.Queue(parts.config.send_queue_frames)

    async def put(self, event: ServerModel) -> None:
        """Queue a frame. A full outbox makes the caller (this socket's pump or reader)
        wait; others are never held up: each socket reads the log on its own. One that
        stays full for ``slow_consumer_seconds`` belongs to a client too slow to serve:
        raises :class:`Closing` (4008)."""
        parts = self._parts
        text = parts.frames.encode(event)
        try:
            self._frames.put_nowait(text)
            return
        except asyncio.QueueFull:
            pass
        try:
            async with asyncio.timeout(parts.config.slow_consumer_seconds):
                await self._frames.put(text)
        except TimeoutError:
            parts.observer.slow_consumer_dropped()
            raise Closing(CloseCode.TOO_SLOW, "too slow; reconnect with after") from None

    async def get(self) -> str:
        """The next frame to send, waiting for one; call :meth:`sent` once it is."""
        return await self._frames.get()

    def sent(self) -> None:
        """The frame :meth:`get` gave is on the wire (or dropped with the socket)."""
        self._frames.task_done()

    async def flushed(self, within: float) -> bool:
        """Wait until every queued frame is sent, for at most ``within`` seconds (a client
        that stopped reading never empties it); whether it emptied."""
        try:
            async with asyncio.timeout(within):
                await self._frames.join()
        except TimeoutError:
            return False
        return True

    def take(self) -> str | None:
        """The next frame if one is waiting, else None (to drain before closing)."""
        try:
            text = self._frames.get_nowait()
        except asyncio.QueueEmpty:
            return None
        self._frames.task_done()
        return text
