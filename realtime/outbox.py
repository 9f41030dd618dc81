"""A socket's outbox: encoded frames waiting for its writer, bounded, and what a client
too slow to keep up gets (closed with 4008, to resume with ``after``).

A list and a future per waiter, made only while someone waits, instead of an
``asyncio.Queue`` (four deques and an event, ~3 KB of every idle socket's ~48 KB in a
tracemalloc of 300 idle sockets) or a deque (760 bytes empty, a list 56: an idle
socket's outbox is empty, a busy one's a few frames long, so popping its front is
cheap). Each change wakes every waiter, which looks again: at most three wait on a
socket's outbox (its writer, its pump, its reader). A future each, not one shared and
shielded: the writer waits once per frame of every socket, and a shielded wait costs an
extra future and callback hop (5.5 against 2.5 us a wait here).

A frame pushed while nothing waits or is being sent is offered to the transport first
(:meth:`realtime.socketparts.Transport.write_now`): taken, it is on the wire without
waking the writer; a busy outbox keeps queueing, so frames keep their order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from realtime.events import ServerModel
from realtime.socketparts import Closing, SocketParts
from realtime.vocabulary import CloseCode

__all__ = ["Outbox"]


class Outbox:
    __slots__ = ("_frames", "_limit", "_parts", "_unsent", "_waiters", "_write_now")

    def __init__(
        self, parts: SocketParts, write_now: Callable[[bytes], bool] | None = None
    ) -> None:
        self._parts = parts
        #: The transport's direct write, until :meth:`seal` (None: every frame queues).
        self._write_now = write_now
        self._limit = max(1, parts.config.send_queue_frames)
        self._frames: list[str] = []
        #: Frames :meth:`get` handed out whose :meth:`sent` has not come yet.
        self._unsent = 0
        #: Who waits for the next change (None: nobody, the idle socket's common case).
        self._waiters: list[asyncio.Future[None]] | None = None

    @property
    def full(self) -> bool:
        return len(self._frames) >= self._limit

    def push(self, event: ServerModel) -> None:
        """Queue a frame now; only when not :attr:`full` (:meth:`put` waits for that; the
        log's live path leaves a full outbox's events to it). Written at once instead
        when nothing is queued or being sent and the transport takes it."""
        parts = self._parts
        write_now = self._write_now
        if (
            write_now is not None
            and not self._frames
            and not self._unsent
            and write_now(parts.frames.frame(event))
        ):
            parts.observer.frame_sent(direct=True)
            return
        self._frames.append(parts.frames.encode(event))
        self._notify()

    def seal(self) -> None:
        """No more direct writes: the socket is closing (revoked, or its writer ended), and
        what is pushed from now on only queues (its writer, if any, decides)."""
        self._write_now = None

    async def put(self, event: ServerModel) -> None:
        """Queue a frame. A full outbox makes the caller (this socket's pump or reader)
        wait; others are never held up: each socket reads the log on its own. One that
        stays full for ``slow_consumer_seconds`` belongs to a client too slow to serve:
        raises :class:`Closing` (4008)."""
        if self.full:
            parts = self._parts
            try:
                async with asyncio.timeout(parts.config.slow_consumer_seconds):
                    while self.full:
                        await self.changed()
            except TimeoutError:
                parts.observer.slow_consumer_dropped()
                raise Closing(CloseCode.TOO_SLOW, "too slow; reconnect with after") from None
        self.push(event)

    async def get(self) -> str:
        """The next frame to send, waiting for one; call :meth:`sent` once it is."""
        while (text := self.next_to_send()) is None:
            await self.changed()
        return text

    def next_to_send(self) -> str | None:
        """The next frame if one is waiting (call :meth:`sent` once it is sent), else
        None: then await :meth:`changed` and look again. :meth:`get` in two plain calls,
        for the socket's writer, which waits once per frame of every socket: no
        coroutine is made unless it must wait, and then only the future."""
        if not self._frames:
            return None
        self._unsent += 1
        text = self._frames.pop(0)
        self._notify()  # room for a waiting put
        return text

    def sent(self) -> None:
        """The frame :meth:`get` gave is on the wire (or dropped with the socket)."""
        self._unsent -= 1
        if not self._unsent and not self._frames:
            self._notify()

    async def flushed(self, within: float) -> bool:
        """Wait until every queued frame is sent, for at most ``within`` seconds (a client
        that stopped reading never empties it); whether it emptied."""
        try:
            async with asyncio.timeout(within):
                while self._frames or self._unsent:
                    await self.changed()
        except TimeoutError:
            return False
        return True

    def take(self) -> str | None:
        """The next frame if one is waiting, else None (to drain before closing)."""
        if not self._frames:
            return None
        text = self._frames.pop(0)
        self._notify()
        return text

    def changed(self) -> asyncio.Future[None]:
        """A future done at the next change, to await (a cancelled waiter cancels only
        its own future, which the next change drops unwoken)."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = [waiter]
        else:
            self._waiters.append(waiter)
        return waiter

    def _notify(self) -> None:
        waiters, self._waiters = self._waiters, None
        if waiters is not None:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
