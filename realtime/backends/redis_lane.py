"""One lane of a worker's stream reader: one connection in one blocking ``XREAD`` over
the wake streams of its sessions, and over the session streams it must read now (see
:mod:`realtime.backends.redis_reader` for the lanes' layout, and
:mod:`realtime.backends.redis_wakes` for the wake streams)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from redis.commands.core import AsyncScript
from redis.exceptions import (
    AskError,
    ClusterError,
    RedisClusterException,
    RedisError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from realtime.backends.base import (
    BackendUnavailable,
    LogEntry,
    Subscriber,
    field_pairs,
    stream_entry,
)
from realtime.backends.cancelling import cancel_and_wait, raise_if_cancelling
from realtime.backends.redis_routing import Routing, dial
from realtime.backends.redis_wakes import (
    REGISTRATION_RENEW,
    REGISTRATION_TTL,
    Feed,
    log_of_wake,
    readers_key,
    register,
    wake_key,
    xread_command,
)
from realtime.backends.redis_wire import Wire
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
#: Own appends kept ahead of the cursor this long make the lane read the stream: the gap
#: was an append whose answer was lost (it ran, nobody handed it over), not one on its
#: way (another worker's, whose wake-up comes within a round trip, or Cluster's reorder).
EARLY_SECONDS = 0.05
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


async def refresh_slots(routing: Routing, who: str) -> None:
    """Re-learn the cluster's slot map after a failed blocking read (a lane's, or the
    revocation listener's); a failure here only logs: the next attempt backs off again."""
    try:
        await routing.refresh()
    except RETRY_ERRORS as error:
        log.warning("%s could not refresh the cluster slots (%r)", who, error)
    raise_if_cancelling()


@dataclass(frozen=True)
class Registrar:
    """How a lane registers as a reader of its sessions (see redis_wakes)."""

    reader_id: str
    script: AsyncScript


class Lane:
    """One connection in one blocking XREAD over the streams of one lane."""

    def __init__(
        self,
        key: int,
        routing: Routing,
        epochs: EpochLookup,
        registrar: Registrar,
        block_ms: int,
        gather: float,
        on_idle: Callable[[Lane], None],
    ) -> None:
        self.key = key
        self._gather = gather
        self.feeds: dict[str, Feed] = {}
        self.closed = False
        #: XREAD answers that brought session entries (tests read it).
        self.answers = 0
        self._routing = routing
        self._epochs = epochs
        self._registrar = registrar
        self._block_ms = block_ms
        self._on_idle = on_idle
        self._task: asyncio.Task[None] | None = None
        self._conn: Wire | None = None
        self._conn_id: int | None = None
        self._node = ""
        self._gen = 0  # bumped by every change of what the next XREAD must read
        self._inflight_gen = 0  # the generation the running XREAD was issued with
        self._blocking = False
        self._wake_lock = asyncio.Lock()
        self._early_check: asyncio.TimerHandle | None = None
        self._waking: asyncio.Task[None] | None = None
        self._epochs_due = False  # the feeds' epochs checked before the next XREAD

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def blocked(self) -> bool:
        """In a blocking XREAD (on wake streams alone: only a wake-up ends it)."""
        return self._blocking

    async def add(self, stream: str, sub: Subscriber, start_seq: int) -> None:
        feed = self.feeds.get(stream)
        if feed is not None and feed.epoch != sub.epoch:
            # The log was rebuilt: old subscribers can never continue without a gap.
            self.fail_feed(stream, LogGapError("epoch_changed", feed.cursor))
            feed = None
        if feed is None:
            wake = wake_key(stream, self._registrar.reader_id)
            feed = self.feeds[stream] = Feed(sub.session_id, stream, sub.epoch, start_seq, wake)
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
            await self._unregister(stream, feed)

    async def _unregister(self, stream: str, feed: Feed) -> None:
        """Best effort (a registration left behind expires); a feed of ``stream`` added
        meanwhile, whose registration this may have undone, registers again."""
        reader_id = self._registrar.reader_id
        try:
            await self._registrar.script(keys=[readers_key(stream), feed.wake], args=[reader_id, 0])
        except (RedisError, OSError) as error:  # never fails the unsubscribe it is part of
            log.info("stream reader could not unregister from %s (%r)", stream, error)
        again = self.feeds.get(stream)
        if again is not None:
            again.renewed_at = None
            self._gen += 1
            await self._wake()

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

    async def _connection(self) -> Wire:
        if self._conn is not None and self._conn.lost:
            await self.drop_connection()
        if self._conn is None:
            how, self._node = await dial(self._routing, self.key)
            self._conn = await Wire.open(how)
        if self._conn_id is None:
            self._conn_id = int(await self._conn.call("CLIENT", "ID"))
        return self._conn

    async def drop_connection(self) -> None:
        conn, self._conn, self._conn_id = self._conn, None, None
        if conn is not None:
            conn.close()

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
                    if down_since is not None or self._epochs_due:
                        self._epochs_due = False
                        await self._revalidate()
                    await self._keep_registered(conn, loop.time())
                    # A session stream is never in a blocking XREAD, or every append to
                    # it, this worker's own too, would end the block.
                    streams, reading = self._streams()
                    if not streams:
                        continue  # the last subscriber left while we connected
                    self._inflight_gen, self._blocking = self._gen, not reading
                    try:
                        block = None if reading else self._block_ms
                        response = await conn.call(*xread_command(streams, READ_COUNT, block))
                    finally:
                        self._blocking = False
                    raise_if_cancelling()
                    backoff, down_since = BACKOFF_FIRST, None
                except RETRY_ERRORS as error:
                    await self.drop_connection()
                    now = loop.time()
                    down_since = now if down_since is None else down_since
                    for feed in self.feeds.values():
                        feed.to_read, feed.renewed_at = True, None  # Redis may have restarted
                    if now - down_since > MAX_OUTAGE:
                        for stream in list(self.feeds):
                            self.fail_feed(stream, BackendUnavailable(str(error)))
                        continue
                    log.warning("stream reader lane %d: %r; reconnecting", self.key, error)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, BACKOFF_MAX)
                    await refresh_slots(self._routing, "stream reader")
                    continue
                if self._dispatch(streams, cast(Any, response), reading=reading):
                    await asyncio.sleep(self._gather)
        except Exception as error:  # a bug must not leave subscribers waiting forever
            log.exception("stream reader failed")
            for stream in list(self.feeds):
                self.fail_feed(stream, BackendUnavailable(f"stream reader failed: {error!r}"))
        finally:
            self._blocking = False
            self._stop_early_check()

    async def _keep_registered(self, conn: Wire, now: float) -> None:
        """Register in new sessions and renew the others every REGISTRATION_RENEW (one
        pipeline on the lane's connection)."""
        reader_id, script = self._registrar.reader_id, self._registrar.script
        due = {
            stream: feed
            for stream, feed in self.feeds.items()
            if feed.renewed_at is None or now - feed.renewed_at >= REGISTRATION_RENEW
        }
        try:
            await register(conn, script, due, reader_id, round(REGISTRATION_TTL * 1000))
        except ResponseError as error:  # a write refused (READONLY, OOM): reads still work
            log.warning("stream reader could not register (%r); reading at each timeout", error)
        for feed in due.values():
            # Read the stream too: were a registration lost, nothing is late beyond this.
            # Tried again after REGISTRATION_RENEW even if it failed (no loop of retries).
            feed.renewed_at, feed.to_read = now, True

    def _streams(self) -> tuple[dict[Any, Any], bool]:
        """What the next XREAD reads, and whether it reads session streams: those to read
        (without blocking), else every wake stream (blocking until one is written)."""
        feeds = self.feeds
        streams = {s: f"{f.cursor}-0" for s, f in feeds.items() if f.to_read}
        if streams:
            return streams, True
        return {f.wake: f.wake_cursor for f in feeds.values()}, False

    def _dispatch(self, asked: dict[Any, Any], response: Any, *, reading: bool) -> bool:
        """Hands over what an XREAD brought; True if it brought session entries (the lane
        then gathers before its next XREAD; after wake-ups it reads at once). A read of
        session streams answers for each of them: read again only one that filled
        READ_COUNT, or once woken. A blocking XREAD that timed out reads every stream."""
        feeds = self.feeds
        if not reading:
            for stream, entries in response or ():
                feed = feeds.get(log_of_wake(stream, self._registrar.reader_id))
                if feed is not None and entries:
                    feed.wake_cursor, feed.to_read = entries[-1][0], True
            if not response:  # no wake-up for a while (or a CLIENT UNBLOCK): a safety net
                for feed in feeds.values():
                    feed.to_read = True
            return False
        for stream in asked:
            if stream in feeds:
                feeds[stream].to_read = False
        self.answers += bool(response)
        for stream, entries in response or ():
            feed = feeds.get(stream)
            if feed is None:
                continue  # it left meanwhile
            for entry_id, fields in entries:
                if int(entry_id.partition("-")[0]) > feed.cursor:
                    feed.offer(stream_entry(entry_id, field_pairs(fields)))
            feed.release_early()
            feed.to_read = len(entries) >= READ_COUNT
        return bool(response)

    def appended(self, stream: str, epoch: str, entries: Callable[[], list[LogEntry]]) -> None:
        feed = self.feeds.get(stream)
        if feed is None:
            return  # not read here
        if feed.epoch != epoch:
            # A log rebuilt under its subscribers, or an answer older than the feed: the
            # lane looks at the epoch now (no other process may wake it before BLOCK_MS,
            # and a new log's seqs may restart below the cursor, where reads never look).
            self._epochs_due = True
            return self._read_soon()
        if not feed.own(entries()) and self._early_check is None:
            loop = asyncio.get_running_loop()
            self._early_check = loop.call_later(EARLY_SECONDS, self._early_overdue)

    def _early_overdue(self) -> None:
        self._early_check = None
        overdue = [feed for feed in self.feeds.values() if feed.early or feed.to_read]
        for feed in overdue:
            feed.to_read = True
        if overdue:
            self._read_soon()

    def _read_soon(self) -> None:  # ends a blocking XREAD: the next reads what is due
        if not self.closed and (self._waking is None or self._waking.done()):
            self._gen += 1
            self._waking = asyncio.create_task(self._wake(), name="realtime-stream-reader-wake")

    def _stop_early_check(self) -> None:
        if self._early_check is not None:
            self._early_check.cancel()
            self._early_check = None

    async def _revalidate(self) -> None:
        """Fail feeds whose log is gone or rebuilt (after a reconnect, or see appended)."""
        streams = list(self.feeds)
        epochs = await self._epochs([self.feeds[s].session_id for s in streams])
        for stream, epoch in zip(streams, epochs, strict=True):
            feed = self.feeds.get(stream)
            if feed is not None and epoch != feed.epoch:
                self.fail_feed(stream, LogGapError("epoch_changed", feed.cursor))

    def cancel(self) -> None:
        self.closed = True
        self._stop_early_check()
        for task in (self._task, self._waking):
            if task is not None:
                task.cancel()

    async def join(self) -> None:
        """Await the cancelled tasks (re-raising only a cancel aimed at the caller)."""
        for task in (self._task, self._waking):
            if task is not None:
                await cancel_and_wait(task)
        self._task = self._waking = None
