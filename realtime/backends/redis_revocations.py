"""Redis revocation channel: one stream per deployment, ``{prefix}:revocations``, capped
near :data:`REVOCATIONS_KEPT` entries (``XADD MAXLEN ~``), followed by one blocking XREAD
per worker on a connection of its own.

One key: on a Redis Cluster it lives in one slot, and the listener connects to the node
owning that slot (re-learning it after MOVED or a failover, as the session readers do).

Gaps. Before each XREAD (one per revocation batch, or every ``BLOCK_MS`` when idle) the
listener reads ``XINFO STREAM``: the stream has dropped ``entries-added - length`` entries
(trimming drops the oldest first), and the listener knows how many were added up to the
last one it read. More dropped than that means it missed some: a :class:`RevocationGap`.
So is a stream that vanished (Redis restarted empty) after the listener read from it,
and a listener that could not reach Redis when it started. Redis before 7.0 reports no
``entries-added``: there only a vanished stream is noticed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ResponseError

from realtime.backends.base import BackendUnavailable
from realtime.backends.cancelling import finish_despite_cancel, raise_if_cancelling
from realtime.backends.redis_lane import RETRY_ERRORS, refresh_slots
from realtime.backends.redis_pool import redis_client
from realtime.backends.redis_routing import (
    ClusterRouting,
    Routing,
    Standalone,
    cluster_seed_url,
)
from realtime.backends.revocations import REVOCATIONS_KEPT
from realtime.revocation import (
    Revocation,
    RevocationGap,
    decode_revocation,
    encode_revocation,
)

__all__ = ["RedisRevocations"]

log = logging.getLogger(__name__)

#: XREAD blocks this long before it checks for gaps and blocks again (a revocation wakes
#: it at once). 5 s: one XINFO and one XREAD per worker every 5 s when nothing happens.
BLOCK_MS = 5_000
#: Revocations per XREAD.
READ_COUNT = 100
#: Reconnect backoff, doubling; the listener retries for as long as it is open.
BACKOFF_FIRST, BACKOFF_MAX = 0.05, 2.0
#: Entering ``listen`` waits at most this long to learn where the stream stands.
START_TIMEOUT = 2.0
#: The id before every stream id.
ORIGIN = "0-0"


@dataclass
class _Position:
    """The last entry read, and how many entries the stream had ever added up to it
    (None on Redis < 7.0)."""

    last_id: str
    added: int | None


class RedisRevocations:
    """See :class:`realtime.backends.revocations.Revocations` for the contract."""

    def __init__(
        self,
        url: str,
        *,
        key_prefix: str = "vc",
        kept: int = REVOCATIONS_KEPT,
        block_ms: int = BLOCK_MS,
    ) -> None:
        if kept < 1:
            raise ValueError("kept must be >= 1")
        self._key = f"{key_prefix}:revocations"
        self._kept = kept
        self._block_ms = block_ms
        self._commands = redis_client(url, decode_responses=True)
        self._routing: Routing
        if isinstance(self._commands, RedisCluster):
            self._routing = ClusterRouting(cluster_seed_url(url) or url, self._commands)
        else:
            self._routing = Standalone(url, self._commands)

    async def publish(self, revocation: Revocation) -> None:
        try:
            await self._commands.xadd(
                self._key,
                {"r": encode_revocation(revocation)},
                maxlen=self._kept,
                approximate=True,
            )
        except RETRY_ERRORS as error:
            raise BackendUnavailable(str(error)) from error

    @asynccontextmanager
    async def listen(self) -> AsyncIterator[AsyncIterator[Revocation | RevocationGap]]:
        listener = _Listener(self._key, self._routing, self._block_ms)
        try:
            await listener.start()
            feed = listener.follow()
            try:
                yield feed
            finally:
                await feed.aclose()
        finally:
            await listener.drop_connection()

    async def aclose(self) -> None:
        await self._commands.aclose()


class _Listener:
    """One connection in one blocking XREAD on the revocation stream."""

    def __init__(self, key: str, routing: Routing, block_ms: int) -> None:
        self._key = key
        self._routing = routing
        self._lane = routing.lane_of(key)
        self._block_ms = block_ms
        self._conn: Redis | None = None
        self._position: _Position | None = None  # None: unknown, report a gap once known

    async def start(self) -> None:
        """Learn where the stream stands now: the listener hears what comes after."""
        try:
            async with asyncio.timeout(START_TIMEOUT):
                self._position = _start(await self._stream_info(await self._connection()))
        except (TimeoutError, *RETRY_ERRORS) as error:
            log.warning("revocation listener cannot reach Redis yet (%r); retrying", error)
            await self.drop_connection()

    async def follow(self) -> AsyncGenerator[Revocation | RevocationGap, None]:
        backoff = BACKOFF_FIRST
        while True:
            try:
                conn = await self._connection()
                info = await self._stream_info(conn)
                raise_if_cancelling()
                gap = self._check(info)
                position = self._position
                assert position is not None  # _check always leaves one
                response: Any = None
                if gap is None:
                    response = await conn.xread(
                        {self._key: position.last_id}, count=READ_COUNT, block=self._block_ms
                    )
                    raise_if_cancelling()
                backoff = BACKOFF_FIRST
            except RETRY_ERRORS as error:
                log.warning("revocation listener: %r; reconnecting", error)
                await self.drop_connection()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
                await refresh_slots(self._routing, "revocation listener")
                continue
            if gap is not None:
                yield RevocationGap(gap)
                continue
            for _stream, entries in response or []:
                for entry_id, fields in entries:
                    position.last_id = entry_id
                    if position.added is not None:
                        position.added += 1
                    revocation = decode_revocation(fields.get("r", ""))
                    if revocation is None:
                        log.warning("revocation %s unreadable; skipped", entry_id)
                        continue
                    yield revocation

    def _check(self, info: dict[str, Any] | None) -> str | None:
        """Move the position past what the stream lost; say why, if it lost anything the
        listener had not read."""
        position = self._position
        if position is None:
            self._position = _start(info)
            return "Redis was unreachable when the listener started"
        if info is None:
            if position.last_id == ORIGIN:
                return None  # nothing published yet
            self._position = _Position(ORIGIN, 0)
            return "the revocation stream vanished (Redis restarted empty?)"
        added = info.get("entries-added")
        if position.added is None or not isinstance(added, int):
            return None
        if added < position.added:
            self._position = _Position(ORIGIN, 0)
            return "the revocation stream was recreated"
        dropped = added - int(info["length"])
        if dropped > position.added:
            missed = dropped - position.added
            position.added = dropped  # what is left starts right after the dropped ones
            return f"{missed} revocations dropped unread"
        return None

    async def _stream_info(self, conn: Redis) -> dict[str, Any] | None:
        try:
            info: dict[str, Any] = await conn.xinfo_stream(self._key)
        except ResponseError as error:
            if "no such key" in str(error).lower():
                return None
            raise
        return info

    async def _connection(self) -> Redis:
        if self._conn is None:
            self._conn, _node = await self._routing.connect(self._lane)
        return self._conn

    async def drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await finish_despite_cancel(conn.aclose())


def _start(info: dict[str, Any] | None) -> _Position:
    """The position at the stream's end (its origin when it does not exist yet)."""
    if info is None:
        return _Position(ORIGIN, 0)
    added = info.get("entries-added")
    return _Position(str(info["last-generated-id"]), added if isinstance(added, int) else None)
