"""Blocking XREADs over every subscribed session stream, fanned out locally.

Subscribed streams are grouped in *lanes*; each lane is one task holding one connection
in one blocking ``XREAD`` over all of its streams. The reader owns the lane tasks
(cancelled and awaited in :meth:`StreamReader.aclose`); a lane runs while it has a
subscriber. Adding a stream to a lane whose XREAD is blocked interrupts it with
``CLIENT UNBLOCK <lane connection id>``, so a new subscriber never waits for the block
timeout.

Standalone Redis: one lane for every stream, so a worker with 500 watched sessions holds
one extra connection, not 500.

Redis Cluster: a multi-key command must stay in one *slot*, not just one node (an XREAD
over two slots of the same node is CROSSSLOT), and every session has its own
``{session_id}`` hash tag, so there is one lane per slot: a worker holds one blocking
connection per watched session (two sessions sharing a slot share it). A lane connects to
the node owning its slot and is woken with CLIENT UNBLOCK on that node. Topology changes
need no regrouping (a key never changes slot): on MOVED, ASK, TRYAGAIN, CLUSTERDOWN or a
lost node the lane drops its connection, refreshes the slot map, and reconnects to the
current owner, reading again from the last seq it delivered, so nothing is lost (only
delayed by the backoff, ~50 ms for one redirection). An idle lane closes its connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import AskError, ClusterError, RedisClusterException, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from realtime.backends.base import (
    BackendUnavailable,
    Event,
    LogEntry,
    Subscriber,
    stamped_entry,
    stream_entry,
)
from realtime.backends.cancelling import (
    cancel_and_wait,
    finish_despite_cancel,
    raise_if_cancelling,
)
from realtime.backends.redis_routing import (
    ClusterRouting,
    Routing,
    Standalone,
    cluster_seed_url,
)
from realtime.eventlog import LogGapError

log = logging.getLogger(__name__)

#: XREAD blocks this long before looping; only a fallback, adds are woken with UNBLOCK.
BLOCK_MS = 5_000
#: Entries per stream per XREAD: one reply's burst fits, memory stays bounded.
READ_COUNT = 500
#: After an XREAD brought entries, wait this long before the next one, so it brings what
#: came meanwhile in one reply. Without it the lane re-read after every single append: at
#: 25 sessions streaming, 11,650 XREADs (each over all 25 streams) against 18,347 EVALSHAs
#: in a run, as much client CPU as the appends. Only events appended by *other* processes
#: wait for it (a worker hands its own appends to its subscribers at once, see
#: :meth:`StreamReader.appended`): at most 5 ms more for a second worker's sockets.
GATHER_SECONDS = 0.005
#: A wake retries CLIENT UNBLOCK while the XREAD is still on its way to Redis (~1 ms each).
WAKE_ATTEMPTS = 200
#: Reconnect backoff, doubling; after MAX_OUTAGE seconds subscribers get BackendUnavailable.
BACKOFF_FIRST, BACKOFF_MAX, MAX_OUTAGE = 0.05, 2.0, 30.0
#: A lane retries (after refreshing the cluster's slot map) on these: the server is gone,
#: or the slot moved (MOVED is an AskError), is moving, or has no primary for a moment.
RETRY_ERRORS = (
    RedisConnectionError,
    RedisTimeoutError,
    OSError,
    AskError,
    TryAgainError,
    ClusterError,
    RedisClusterException,
)

#: Returns the current epoch of each session (None if its log is gone), for revalidation.
EpochLookup = Callable[[list[str]], Awaitable[list[str | None]]]


@dataclass
class _Feed:
    session_id: str
    epoch: str
    cursor: int  # highest seq the reader has read from this stream
    subscribers: set[Subscriber] = field(default_factory=set)

    def offer(self, entry: LogEntry) -> None:
        self.cursor = entry.seq
        for sub in self.subscribers:
            sub.offer(entry)


class _Lane:
    """One connection in one blocking XREAD over the streams of one lane."""

    def __init__(
        self,
        key: int,
        routing: Routing,
        epochs: EpochLookup,
        block_ms: int,
        gather: float,
        on_idle: Callable[[_Lane], None],
    ) -> None:
        self.key = key
        self._gather = gather
        self.feeds: dict[str, _Feed] = {}
        self.closed = False
        self._routing = routing
        self._epochs = epochs
        self._block_ms = block_ms
        self._on_idle = on_idle
        self._task: asyncio.Task[None] | None = None
        self._conn: Redis | None = None
        self._conn_id: int | None = None
        self._node = ""
        self._gen = 0  # bumped by every change of the stream set
        self._inflight_gen = 0  # the generation the running XREAD was issued with
        self._blocking = False
        self._wake_lock = asyncio.Lock()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def add(self, stream: str, sub: Subscriber, start_seq: int) -> None:
        feed = self.feeds.get(stream)
        if feed is not None and feed.epoch != sub.epoch:
            # The log was rebuilt: old subscribers can never continue without a gap.
            self.fail_feed(stream, LogGapError("epoch_changed", feed.cursor))
            feed = None
        if feed is None:
            feed = self.feeds[stream] = _Feed(sub.session_id, sub.epoch, start_seq)
            self._gen += 1
        feed.subscribers.add(sub)
        if not self.running:
            self._task = asyncio.create_task(self._run(), name=f"realtime-stream-reader-{self.key}")
        else:
            await self._wake()

    async def remove(self, stream: str, sub: Subscriber) -> None:
        feed = self.feeds.get(stream)
        if feed is None or sub not in feed.subscribers:
            return
        feed.subscribers.discard(sub)
        if not feed.subscribers:
            del self.feeds[stream]
            self._gen += 1
            if not self.feeds:
                await self._wake()  # let the lane notice and exit now

    def fail_feed(self, stream: str, failure: Exception) -> None:
        feed = self.feeds.pop(stream)
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
                if conn_id is not None and await self._routing.unblock(self._node, conn_id):
                    return
                await asyncio.sleep(0.001)  # XREAD sent but not yet blocked in Redis

    async def _connection(self) -> Redis:
        if self._conn is None:
            self._conn, self._node = await self._routing.connect(self.key)
        if self._conn_id is None:
            self._conn_id = int(await self._conn.client_id())
        return self._conn

    async def drop_connection(self) -> None:
        conn, self._conn, self._conn_id = self._conn, None, None
        if conn is not None:
            await finish_despite_cancel(conn.aclose())

    async def _idle(self) -> bool:
        """No feed left: True to end the task. A lane that does not keep its connection
        closes it first, then retires, unless a subscriber came back meanwhile."""
        if self._routing.keeps_idle_connections:
            return True
        await self.drop_connection()
        if self.feeds:
            return False
        self._on_idle(self)  # nothing awaits after this: the task ends in this step
        return True

    async def _run(self) -> None:
        backoff, down_since = BACKOFF_FIRST, None
        loop = asyncio.get_running_loop()
        try:
            while not self.closed:
                if not self.feeds:
                    if await self._idle():
                        return
                    continue
                try:
                    conn = await self._connection()
                    if down_since is not None:
                        await self._revalidate()
                    streams: dict[Any, Any] = {k: f"{f.cursor}-0" for k, f in self.feeds.items()}
                    if not streams:
                        continue  # the last subscriber left while we connected
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
                except RETRY_ERRORS as error:
                    await self.drop_connection()
                    now = loop.time()
                    down_since = now if down_since is None else down_since
                    if now - down_since > MAX_OUTAGE:
                        for stream in list(self.feeds):
                            self.fail_feed(stream, BackendUnavailable(str(error)))
                        continue
                    log.warning("stream reader lane %d: %r; reconnecting", self.key, error)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, BACKOFF_MAX)
                    await self._refresh()
                    continue
                if response:
                    self._dispatch(cast(Any, response))
                    await asyncio.sleep(self._gather)
        except Exception as error:  # a bug must not leave subscribers waiting forever
            log.exception("stream reader failed")
            for stream in list(self.feeds):
                self.fail_feed(stream, BackendUnavailable(f"stream reader failed: {error!r}"))
        finally:
            self._blocking = False

    async def _refresh(self) -> None:
        try:
            await self._routing.refresh()
        except RETRY_ERRORS as error:  # the next attempt fails and backs off again
            log.warning("stream reader could not refresh the cluster slots (%r)", error)
        raise_if_cancelling()

    def _dispatch(self, response: Any) -> None:
        for stream, entries in response:
            feed = self.feeds.get(stream)
            if feed is None:
                continue
            for entry_id, fields in entries:
                if int(entry_id.partition("-")[0]) <= feed.cursor:
                    continue
                feed.offer(stream_entry(entry_id, fields))

    def appended(self, stream: str, epoch: str, first: int, events: Sequence[Event]) -> None:
        feed = self.feeds.get(stream)
        if feed is None or feed.epoch != epoch or feed.cursor != first - 1:
            return  # not read here, a new log, or others' entries come first: XREAD's job
        for seq, event in enumerate(events, first):
            feed.offer(stamped_entry(seq, epoch, event))

    async def _revalidate(self) -> None:
        """After a reconnect: Redis may have restarted empty; fail feeds whose log is gone."""
        streams = list(self.feeds)
        epochs = await self._epochs([self.feeds[s].session_id for s in streams])
        for stream, epoch in zip(streams, epochs, strict=True):
            feed = self.feeds.get(stream)
            if feed is not None and epoch != feed.epoch:
                self.fail_feed(stream, LogGapError("epoch_changed", feed.cursor))

    def cancel(self) -> None:
        self.closed = True
        if self._task is not None:
            self._task.cancel()

    async def join(self) -> None:
        """Await the cancelled task (re-raising only a cancel aimed at the caller)."""
        task, self._task = self._task, None
        if task is not None:
            await cancel_and_wait(task)


class StreamReader:
    """Fans out new entries of subscribed streams to local :class:`Subscriber` queues.

    ``commands`` is the backend's command client: a ``RedisCluster`` selects one lane per
    slot (``url`` then names the seed node, ``redis+cluster://``), a ``Redis`` one lane.
    """

    def __init__(
        self,
        url: str,
        commands: Redis | RedisCluster,
        epochs: EpochLookup,
        *,
        block_ms: int = BLOCK_MS,
        gather: float = GATHER_SECONDS,
    ) -> None:
        self._routing: Routing
        if isinstance(commands, RedisCluster):
            self._routing = ClusterRouting(cluster_seed_url(url) or url, commands)
        else:
            self._routing = Standalone(url, commands)
        self._epochs = epochs
        self._block_ms = block_ms
        self._gather = gather
        self._lanes: dict[int, _Lane] = {}
        self._closed = False

    @property
    def running(self) -> bool:
        return any(lane.running for lane in self._lanes.values())

    @property
    def streams(self) -> frozenset[str]:
        return frozenset(stream for lane in self._lanes.values() for stream in lane.feeds)

    @property
    def lanes(self) -> int:
        """Lanes (one blocking connection each) currently open or running."""
        return len(self._lanes)

    async def add(self, stream: str, sub: Subscriber, start_seq: int) -> None:
        """Deliver entries of ``stream`` above ``start_seq`` (at least) to ``sub``."""
        if self._closed:
            raise RuntimeError("reader closed")
        key = self._routing.lane_of(stream)
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane(
                key, self._routing, self._epochs, self._block_ms, self._gather, self._retire
            )
        await lane.add(stream, sub, start_seq)

    async def remove(self, stream: str, sub: Subscriber) -> None:
        """Unhook ``sub``; the last one out stops reading the stream. Safe to cancel."""
        lane = self._lanes.get(self._routing.lane_of(stream))
        if lane is not None:
            await lane.remove(stream, sub)

    def appended(self, stream: str, epoch: str, first: int, events: Sequence[Event]) -> None:
        """``events``, just appended by this process to ``stream`` of log ``epoch`` from seq
        ``first`` on: handed to the stream's subscribers here at once when they follow
        what the reader delivered last (the common case: a reply's deltas come from the
        worker streaming it); otherwise the next XREAD brings them in order. The XREAD
        brings them again either way, and the reader skips what it delivered."""
        lane = self._lanes.get(self._routing.lane_of(stream))
        if lane is not None:
            lane.appended(stream, epoch, first, events)

    def _retire(self, lane: _Lane) -> None:
        if self._lanes.get(lane.key) is lane and not lane.feeds:
            del self._lanes[lane.key]

    async def aclose(self) -> None:
        """Cancel and await the lanes, fail remaining subscribers, close the sockets."""
        self._closed = True
        lanes = list(self._lanes.values())
        for lane in lanes:
            lane.cancel()
        for lane in lanes:
            await lane.join()
        for lane in lanes:
            for stream in list(lane.feeds):
                lane.fail_feed(stream, BackendUnavailable("backend closed"))
            await lane.drop_connection()
        self._lanes.clear()
