"""How many replies a worker streams at once, and the bounded queue of those waiting.

Past capacity every stream slows together (the issue measured it: p99 chunk latency past
50 ms beyond ~25 streams per core today, ~100 for a bare app); bounding the streams per
worker makes replies *start* later instead, and bounding the queue turns what cannot be
served soon into an immediate ``busy`` refusal that stores nothing.

:class:`SlotBook` is the pure rule (no loop, no clock): a say is *admitted* while
streaming plus admitted-and-not-yet-streaming replies stay under slots + queue, and
admitted replies take free slots first come, first served. :class:`ReplySlots` is the
async shell the runner uses: one per worker, on its event loop.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Hashable
from enum import Enum
from typing import Generic, TypeVar

__all__ = ["BUSY_MESSAGE", "QueueWaitExceeded", "ReplySlots", "SlotBook", "Ticket"]

#: What a say refused as ``busy`` (and a reply that waited too long) tells the student.
BUSY_MESSAGE = "The client is answering many students right now; send again in a few seconds."

K = TypeVar("K", bound=Hashable)


class SlotBook(Generic[K]):
    """Slots and a FIFO queue, as counts and keys; every method is O(1) but
    :meth:`withdraw` of a queued key (O(queue))."""

    def __init__(self, streaming: int, queued: int) -> None:
        if streaming < 1 or queued < 0:
            raise ValueError("need at least one slot and a queue of zero or more")
        self.streaming_limit = streaming
        self.queue_limit = queued
        #: Keys holding a slot now.
        self.running = 0
        #: Admitted keys without a slot: being prepared (not asked yet) or queued.
        self.pending = 0
        self._queue: deque[K] = deque()

    @property
    def waiting(self) -> int:
        """Admitted replies without a slot (the metrics gauge)."""
        return self.pending

    def admit(self) -> bool:
        """Count one more reply in, or False when slots and queue are full (``busy``)."""
        if self.running + self.pending >= self.streaming_limit + self.queue_limit:
            return False
        self.pending += 1
        return True

    def readmit(self) -> None:
        """Count in a reply already accepted (the one retry of a withdrawn reply): it
        continues a turn the student was promised, so it is never refused; it may pass
        the queue bound by the replies retrying at once."""
        self.pending += 1

    def take(self) -> bool:
        """An admitted reply takes a free slot if nobody is queued for one."""
        if self.running < self.streaming_limit and not self._queue:
            self.pending -= 1
            self.running += 1
            return True
        return False

    def ask(self, key: K) -> bool:
        """An admitted ``key`` asks for a slot: True if it holds one now, else it is
        queued behind the keys that asked before it."""
        if self.take():
            return True
        self._queue.append(key)
        return False

    def withdraw(self, key: K) -> None:
        """An admitted ``key`` without a slot gives up (refused say, stop, timeout)."""
        if key in self._queue:
            self._queue.remove(key)
        self.pending -= 1

    def finish(self) -> list[K]:
        """A slot is given back; returns the queued keys that hold a slot now."""
        self.running -= 1
        granted: list[K] = []
        while self._queue and self.running < self.streaming_limit:
            granted.append(self._queue.popleft())
            self.pending -= 1
            self.running += 1
        return granted


class QueueWaitExceeded(Exception):
    """A reply waited longer than the queue allows for a slot."""


class _State(Enum):
    ADMITTED = "admitted"  # counted in, no slot (preparing, or queued)
    STREAMING = "streaming"  # holds a slot
    IDLE = "idle"  # counts for nothing (between a withdrawn reply and its retry, or done)


class Ticket:
    """One admitted reply's place: :meth:`acquire` a slot before the upstream call,
    :meth:`release` after it (and whenever the reply will not stream after all)."""

    def __init__(self, slots: ReplySlots) -> None:
        self._slots = slots
        self._state = _State.ADMITTED

    @property
    def streaming(self) -> bool:
        return self._state is _State.STREAMING

    def acquire_now(self) -> bool:
        """Take a free slot if nobody is queued for one (no waiting, no task); False
        leaves the ticket as it was."""
        self._readmit()
        if not self._slots.book.take():
            return False
        self._state = _State.STREAMING
        self._slots.report()
        return True

    async def acquire(self) -> None:
        """Wait for a slot, first come, first served. Raises :class:`QueueWaitExceeded`
        after the queue's longest wait. Cancelling is safe: the place is given up (or
        the slot passed on if it was granted at that moment)."""
        self._readmit()
        try:
            await self._slots.acquire(self)
        except BaseException:
            self._state = _State.IDLE  # the wait gave the place up
            raise
        self._state = _State.STREAMING

    def release(self) -> None:
        """Give back the slot, or the place if the reply never got one. Idempotent."""
        state, self._state = self._state, _State.IDLE
        if state is _State.STREAMING:
            self._slots.release()
        elif state is _State.ADMITTED:
            self._slots.withdraw(self)

    def _readmit(self) -> None:
        if self._state is _State.IDLE:  # the retry of a withdrawn reply
            self._slots.book.readmit()
            self._state = _State.ADMITTED


class ReplySlots:
    """A worker's reply slots: ``admit`` at the say, a ticket's slot around the stream.
    ``on_waiting`` hears the number of replies without a slot after each change."""

    def __init__(
        self,
        streaming: int,
        queued: int,
        wait_seconds: float,
        on_waiting: Callable[[int], None] = lambda _: None,
    ) -> None:
        self.book: SlotBook[Ticket] = SlotBook(streaming, queued)
        self._wait_seconds = wait_seconds
        self._granted: dict[Ticket, asyncio.Future[None]] = {}
        self._on_waiting = on_waiting

    @property
    def waiting(self) -> int:
        return self.book.waiting

    def admit(self) -> Ticket | None:
        """A place for one more reply, or None when slots and queue are full."""
        if not self.book.admit():
            return None
        self.report()
        return Ticket(self)

    def admitted(self) -> Ticket:
        """A place for a reply already accepted (a runner started without a say's
        ticket), whether or not the queue has room."""
        self.book.readmit()
        self.report()
        return Ticket(self)

    async def acquire(self, ticket: Ticket) -> None:
        """:meth:`Ticket.acquire`'s wait (the ticket keeps its own state)."""
        if self.book.ask(ticket):
            self.report()
            return
        granted = asyncio.get_running_loop().create_future()
        self._granted[ticket] = granted
        try:
            async with asyncio.timeout(self._wait_seconds):
                await asyncio.shield(granted)
        except BaseException as error:
            self._granted.pop(ticket, None)
            if granted.done():  # granted just as the wait ended: pass the slot on
                self.release()
            else:
                granted.cancel()
                self.book.withdraw(ticket)
                self.report()
            if isinstance(error, TimeoutError):
                raise QueueWaitExceeded(f"no reply slot within {self._wait_seconds:g} s") from None
            raise
        self._granted.pop(ticket, None)

    def release(self) -> None:
        """A slot is given back: wake the tickets it passes to."""
        for ticket in self.book.finish():
            granted = self._granted.get(ticket)
            if granted is not None and not granted.done():
                granted.set_result(None)
        self.report()

    def withdraw(self, ticket: Ticket) -> None:
        self.book.withdraw(ticket)
        self.report()

    def report(self) -> None:
        self._on_waiting(self.book.waiting)
