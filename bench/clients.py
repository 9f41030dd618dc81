"""The load driver's sockets: each reads every frame as it comes and tallies stamps.

A client knows which reply a delta belongs to by the protocol itself: the student's
``message`` (which carries the request marker in its text) precedes its ``reply.start``,
and every ``reply.delta`` names its ``reply_id``. So loss is counted per socket and per
request marker against what the upstream says it emitted for that marker.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.targets import Seat
from bench.wire import find_marker, marker_text, read_stamps
from realtime.vocabulary import ClientType, EventType, MessageRole

__all__ = ["Client", "Tally"]

#: A handshake on a server past its capacity can take seconds; 60 s means "broken".
OPEN_TIMEOUT_S = 60.0
#: The product closes frames over 1 MiB; a reply.done with history is far below.
MAX_FRAME_BYTES = 4 << 20


@dataclass
class Tally:
    """What all the sockets of one driver run saw, for the measurement window only
    (``start`` <= receive time <= ``end``, wall clock like the stamps)."""

    start: float = float("inf")
    end: float = float("inf")
    latencies: list[float] = field(default_factory=list)
    chunks: int = 0
    frames: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    closures: Counter[str] = field(default_factory=Counter)

    def in_window(self, at: float) -> bool:
        return self.start <= at <= self.end


class Client:
    """One socket. ``got[marker]`` holds the chunk indexes that reached it."""

    def __init__(self, seat: Seat, tally: Tally) -> None:
        self.seat = seat
        self.tally = tally
        self.got: dict[str, set[int]] = {}
        self.welcome: dict[str, Any] | None = None
        #: Set once a ``presence`` frame counts at least ``observers_goal`` observers (the
        #: connect storm waits on it; see :meth:`expect_observers`).
        self.observers_goal = 0
        self.observers_seen = 0
        self.observers_reached = asyncio.Event()
        self._conn: ClientConnection | None = None
        self._marker: str | None = None
        self._reply_marker: dict[str, str] = {}
        self._closing = False
        # The student's side: the say in flight and when its first delta came.
        self.said_at: dict[str, float] = {}
        self.first_delta: dict[str, float] = {}
        self.ended_at: dict[str, float] = {}
        self._reply_end: asyncio.Future[bool] | None = None
        self._end_waiters: dict[str, asyncio.Future[None]] = {}
        self._gone = False  # the socket's reader ended: no end will come any more

    async def open(self, open_timeout: float = OPEN_TIMEOUT_S) -> float:
        """Connect and read ``welcome``; returns the seconds that took. Raises
        ``InvalidStatus`` when refused, ``TimeoutError``, ``ConnectionClosed``."""
        started = time.perf_counter()
        self._conn = await connect(
            self.seat.url,
            additional_headers=self.seat.headers,
            open_timeout=open_timeout,
            max_size=MAX_FRAME_BYTES,
            ping_interval=None,  # the server pings; our loop is busy enough
        )
        async with asyncio.timeout(open_timeout):
            first = json.loads(await self._conn.recv())
        if first.get("type") != EventType.WELCOME:
            raise RuntimeError(f"expected welcome, got {first!r:.200}")
        self.welcome = first
        return time.perf_counter() - started

    async def read(self) -> None:
        """Read until the socket closes; a close we did not ask for counts as a closure."""
        assert self._conn is not None
        try:
            async for raw in self._conn:
                self._on_frame(json.loads(raw), time.time())
        except ConnectionClosed:
            pass
        finally:
            if not self._closing:
                code = self._conn.close_code
                self.tally.closures[f"{self.seat.role}:{code}"] += 1
            self._end_reply(False)
            self._gone = True
            for waiter in self._end_waiters.values():
                if not waiter.done():
                    waiter.set_result(None)

    def _on_frame(self, frame: dict[str, Any], now: float) -> None:
        kind = frame.get("type")
        tally = self.tally
        counted = tally.in_window(now)
        if counted:
            tally.frames += 1
        if kind == EventType.REPLY_DELTA:
            marker = self._reply_marker.get(frame["reply_id"], self._marker or "?")
            got = self.got.setdefault(marker, set())
            first = marker not in self.first_delta
            for index, emitted in read_stamps(frame["text"]):
                got.add(index)
                if counted:
                    tally.chunks += 1
                    tally.latencies.append(now - emitted)
            if first:
                self.first_delta[marker] = now
        elif kind == EventType.MESSAGE and frame.get("role") == MessageRole.STUDENT:
            self._marker = find_marker(frame.get("text", ""))
        elif kind == EventType.PRESENCE:
            self.observers_seen = max(self.observers_seen, int(frame.get("observers") or 0))
            if self.observers_seen >= self.observers_goal:
                self.observers_reached.set()
        elif kind == EventType.REPLY_START and self._marker is not None:
            self._reply_marker[frame["reply_id"]] = self._marker
        elif kind == EventType.REPLY_DONE:
            self._ended(frame, now)
            self._end_reply(True)
        elif kind == EventType.REPLY_ERROR:
            tally.errors[f"reply.error:{frame.get('code')}"] += 1
            self._ended(frame, now)
            self._end_reply(False)
        elif kind == EventType.ERROR:
            tally.errors[f"error:{frame.get('code')}"] += 1
            self._end_reply(False)

    def expect_observers(self, goal: int) -> None:
        """Wait for ``goal`` observers from now on (the connect storm lowers its goal to
        the sockets that did open)."""
        self.observers_goal = goal
        if self.observers_seen >= goal:
            self.observers_reached.set()

    def _ended(self, frame: dict[str, Any], now: float) -> None:
        if (marker := self._reply_marker.get(frame.get("reply_id", ""))) is not None:
            self.ended_at[marker] = now
            waiter = self._end_waiters.pop(marker, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    async def reply_ended(self, marker: str) -> None:
        """Until the reply of ``marker`` has ended at this socket (or the socket is gone)."""
        if marker in self.ended_at or self._gone:
            return
        waiter = self._end_waiters.get(marker)
        if waiter is None:
            waiter = self._end_waiters[marker] = asyncio.get_running_loop().create_future()
        await waiter

    def _end_reply(self, ok: bool) -> None:
        if self._reply_end is not None and not self._reply_end.done():
            self._reply_end.set_result(ok)

    async def say(self, marker: str, patience: float) -> bool:
        """Say something carrying ``marker`` and wait for the reply's end. False when the
        say was refused, the reply failed or did not end within ``patience`` seconds."""
        assert self._conn is not None
        self._reply_end = asyncio.get_running_loop().create_future()
        text = f"How have things been since we last spoke? {marker_text(marker)}"
        self.said_at[marker] = time.time()
        try:
            await self._conn.send(
                json.dumps({"type": ClientType.SAY, "text": text, "client_id": marker})
            )
            async with asyncio.timeout(patience):
                return await self._reply_end
        except TimeoutError:
            self.tally.errors["reply timeout"] += 1
            return False
        except ConnectionClosed:
            return False

    async def close(self) -> None:
        self._closing = True
        if self._conn is not None:
            await self._conn.close()


async def open_all(
    clients: list[Client], concurrency: int, readers: asyncio.TaskGroup
) -> list[float]:
    """Open ``clients`` with at most ``concurrency`` handshakes in flight, starting each
    one's :meth:`Client.read` in ``readers`` as soon as it is open (an unread socket
    stops answering the server's pings once its small buffer fills, and is dropped);
    returns the handshake times. The first failure cancels the rest and raises (in an
    ExceptionGroup)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(client: Client) -> float:
        async with gate:
            took = await client.open()
        readers.create_task(client.read())
        return took

    async with asyncio.TaskGroup() as tasks:
        opening = [tasks.create_task(one(c)) for c in clients]
    return [task.result() for task in opening]
