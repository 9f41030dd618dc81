"""One blocking XREAD per worker over every subscribed session stream, fanned out locally.

A worker with 500 watched sessions holds one extra Redis connection, not 500. The reader
task runs while there is at least one subscriber and is owned by :class:`StreamReader`
(cancelled and awaited in :meth:`StreamReader.aclose`). Adding a stream while the reader is
blocked interrupts it with ``CLIENT UNBLOCK <reader id>`` sent on the command pool, so a new
subscriber never waits for the block timeout.

Redis Cluster: every key of a session shares the ``{session_id}`` hash tag, so each Lua
script touches one slot and is cluster-safe. This multi-stream XREAD is not: streams of
different slots in one XREAD are a CROSSSLOT error. Serving Cluster needs one reader per
slot group (per node, re-grouped on MOVED); that is not implemented, so the Redis backend
supports a standalone server (or Sentinel-managed primary) only.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from realtime.backends.base import (
    BackendUnavailable,
    LogEntry,
    Subscriber,
    raise_if_cancelling,
)
from realtime.eventlog import LogGapError

log = logging.getLogger(__name__)

#: XREAD blocks this long before looping; only a fallback, adds are woken with UNBLOCK.
BLOCK_MS = 5_000
#: Entries per stream per XREAD: one reply's burst fits, memory stays bounded.
READ_COUNT = 500
#: A wake retries CLIENT UNBLOCK while the XREAD is still on its way to Redis (~1 ms each).
WAKE_ATTEMPTS = 200
#: Reconnect backoff, doubling; after MAX_OUTAGE seconds subscribers get BackendUnavailable.
BACKOFF_FIRST, BACKOFF_MAX, MAX_OUTAGE = 0.05, 2.0, 30.0

#: Returns the current epoch of each session (None if its log is gone), for revalidation.
EpochLookup = Callable[[list[str]], Awaitable[list[str | None]]]


@dataclass
class _Feed:
    session_id: str
    epoch: str
    cursor: int  # highest seq the reader has read from this stream
    subscribers: set[Subscriber] = field(default_factory=set)


class StreamReader:
    """Fans out new entries of subscribed streams to local :class:`Subscriber` queues."""

    def __init__(
        self, url: str, commands: Redis, epochs: EpochLookup, *, block_ms: int = BLOCK_MS
    ) -> None:
        self._url = url
        self._commands = commands
        self._epochs = epochs
        self._block_ms = block_ms
        self._feeds: dict[str, _Feed] = {}
        self._task: asyncio.Task[None] | None = None
        self._conn: Redis | None = None
        self._conn_id: int | None = None
        self._gen = 0  # bumped by every change of the stream set
        self._inflight_gen = 0  # the generation the running XREAD was issued with
        self._blocking = False
        self._wake_lock = asyncio.Lock()
        self._closed = False

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def streams(self) -> frozenset[str]:
        return frozenset(self._feeds)

    async def add(self, stream: str, sub: Subscriber, start_seq: int) -> None:
        """Deliver entries of ``stream`` above ``start_seq`` (at least) to ``sub``."""
        if self._closed:
            raise RuntimeError("reader closed")
        feed = self._feeds.get(stream)
        if feed is not None and feed.epoch != sub.epoch:
            # The log was rebuilt: old subscribers can never continue without a gap.
            self._fail_feed(stream, LogGapError("epoch_changed", feed.cursor))
            feed = None
        if feed is None:
            feed = self._feeds[stream] = _Feed(sub.session_id, sub.epoch, start_seq)
            self._gen += 1
        feed.subscribers.add(sub)
        if not self.running:
            self._task = asyncio.create_task(self._run(), name="realtime-stream-reader")
        else:
            await self._wake()

    async def remove(self, stream: str, sub: Subscriber) -> None:
        """Unhook ``sub``; the last one out stops reading the stream. Safe to cancel."""
        feed = self._feeds.get(stream)
        if feed is None or sub not in feed.subscribers:
            return
        feed.subscribers.discard(sub)
        if not feed.subscribers:
            del self._feeds[stream]
            self._gen += 1
            if not self._feeds:
                await self._wake()  # let the reader notice and exit now

    def _fail_feed(self, stream: str, failure: Exception) -> None:
        feed = self._feeds.pop(stream)
        self._gen += 1
        for sub in feed.subscribers:
            sub.fail(failure)

    async def _wake(self) -> None:
        target = self._gen
        async with self._wake_lock:
            for _ in range(WAKE_ATTEMPTS):
                if not self.running or self._inflight_gen >= target or not self._blocking:
                    return  # the next XREAD will be issued with the new stream set
                conn_id = self._conn_id
                if conn_id is not None and await self._commands.client_unblock(conn_id):
                    return
                await asyncio.sleep(0.001)  # XREAD sent but not yet blocked in Redis

    async def _connection(self) -> Redis:
        if self._conn is None:
            self._conn = Redis.from_url(
                self._url,
                decode_responses=True,
                single_connection_client=True,
                socket_timeout=None,  # XREAD BLOCK holds the socket silent by design
                retry=Retry(NoBackoff(), 0),  # a silent reconnect would change our client id
            )
        if self._conn_id is None:
            self._conn_id = int(await self._conn.client_id())
        return self._conn

    async def _drop_connection(self) -> None:
        conn, self._conn, self._conn_id = self._conn, None, None
        if conn is not None:
            await conn.aclose()

    async def _run(self) -> None:
        backoff, down_since = BACKOFF_FIRST, None
        loop = asyncio.get_running_loop()
        try:
            while self._feeds and not self._closed:
                try:
                    conn = await self._connection()
                    if down_since is not None:
                        await self._revalidate()
                    streams: dict[Any, Any] = {k: f"{f.cursor}-0" for k, f in self._feeds.items()}
                    if not streams:
                        return  # the last subscriber left while we connected
                    self._inflight_gen, self._blocking = self._gen, True
                    try:
                        response = await conn.xread(
                            streams,
                            count=READ_COUNT,
                            block=self._block_ms,
                        )
                    finally:
                        self._blocking = False
                    raise_if_cancelling()
                    backoff, down_since = BACKOFF_FIRST, None
                except (RedisConnectionError, RedisTimeoutError, OSError) as error:
                    await self._drop_connection()
                    now = loop.time()
                    down_since = now if down_since is None else down_since
                    if now - down_since > MAX_OUTAGE:
                        for stream in list(self._feeds):
                            self._fail_feed(stream, BackendUnavailable(str(error)))
                        return
                    log.warning("stream reader lost Redis (%r); retrying", error)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, BACKOFF_MAX)
                    continue
                self._dispatch(cast(Any, response) or [])
        except Exception as error:  # a bug must not leave subscribers waiting forever
            log.exception("stream reader failed")
            for stream in list(self._feeds):
                self._fail_feed(stream, BackendUnavailable(f"stream reader failed: {error!r}"))
        finally:
            self._blocking = False

    def _dispatch(self, response: Any) -> None:
        for stream, entries in response:
            feed = self._feeds.get(stream)
            if feed is None:
                continue
            for entry_id, fields in entries:
                seq = int(entry_id.partition("-")[0])
                if seq <= feed.cursor:
                    continue
                feed.cursor = seq
                event = json.loads(fields["e"])
                event["seq"] = seq
                entry = LogEntry(seq, fields["x"], event)
                for sub in feed.subscribers:
                    sub.offer(entry)

    async def _revalidate(self) -> None:
        """After a reconnect: Redis may have restarted empty; fail feeds whose log is gone."""
        streams = list(self._feeds)
        epochs = await self._epochs([self._feeds[s].session_id for s in streams])
        for stream, epoch in zip(streams, epochs, strict=True):
            feed = self._feeds.get(stream)
            if feed is not None and epoch != feed.epoch:
                self._fail_feed(stream, LogGapError("epoch_changed", feed.cursor))

    async def aclose(self) -> None:
        """Cancel and await the reader task, fail remaining subscribers, close the socket."""
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise
        for stream in list(self._feeds):
            self._fail_feed(stream, BackendUnavailable("backend closed"))
        await self._drop_connection()
