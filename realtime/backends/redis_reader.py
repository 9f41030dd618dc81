"""What other processes append to the subscribed session streams, fanned out locally.

Subscribed streams are grouped in *lanes*; each lane is one task holding one connection
in one blocking ``XREAD`` over its streams' *wake streams*, which only other processes'
appends write to (:mod:`realtime.backends.redis_wakes`). A woken stream, a new one, and
every stream at each renewal and after a block timeout, is then read itself, without
blocking. This process's own appends reach its subscribers in the append's call
(:meth:`StreamReader.appended`) and do not wake the lane. The reader owns the lane tasks
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

from collections.abc import Callable

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript

from realtime.backends.base import BackendUnavailable, LogEntry, Subscriber
from realtime.backends.redis_lane import (
    BLOCK_MS,
    GATHER_SECONDS,
    RETRY_ERRORS,
    EpochLookup,
    Lane,
    Registrar,
)
from realtime.backends.redis_routing import (
    ClusterRouting,
    Routing,
    Standalone,
    cluster_seed_url,
)

__all__ = ["BLOCK_MS", "GATHER_SECONDS", "RETRY_ERRORS", "StreamReader"]


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
        reader_id: str,
        registrar: AsyncScript,
        block_ms: int = BLOCK_MS,
        gather: float = GATHER_SECONDS,
    ) -> None:
        self._registrar = Registrar(reader_id, registrar)
        self._routing: Routing
        if isinstance(commands, RedisCluster):
            self._routing = ClusterRouting(cluster_seed_url(url) or url, commands)
        else:
            self._routing = Standalone(url, commands)
        self._epochs = epochs
        self._block_ms = block_ms
        self._gather = gather
        self._lanes: dict[int, Lane] = {}
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

    @property
    def answers(self) -> int:
        """XREAD answers with entries, over the lanes open now (tests read this)."""
        return sum(lane.answers for lane in self._lanes.values())

    @property
    def blocked(self) -> bool:
        """Every lane in an XREAD that only a wake-up (another's append) ends."""
        return all(lane.blocked for lane in self._lanes.values())

    async def add(self, stream: str, sub: Subscriber, start_seq: int) -> None:
        """Deliver entries of ``stream`` above ``start_seq`` (at least) to ``sub``."""
        if self._closed:
            raise RuntimeError("reader closed")
        key = self._routing.lane_of(stream)
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = Lane(
                key,
                self._routing,
                self._epochs,
                self._registrar,
                self._block_ms,
                self._gather,
                self._retire,
            )
        await lane.add(stream, sub, start_seq)

    async def remove(self, stream: str, sub: Subscriber) -> None:
        """Unhook ``sub``; the last one out stops reading the stream. Safe to cancel."""
        lane = self._lanes.get(self._routing.lane_of(stream))
        if lane is not None:
            await lane.remove(stream, sub)

    def appended(self, stream: str, epoch: str, entries: Callable[[], list[LogEntry]]) -> None:
        """The ``entries()`` just appended by this process to ``stream`` of log ``epoch``
        (made only when a subscriber here takes them): handed to them at once when they follow
        what the reader delivered last (the common case: a reply's deltas come from the
        worker streaming it); otherwise kept until the read that the other process's
        wake-up brings fills the gap (the stream is read after EARLY_SECONDS if none
        does). They wake no reader of this process."""
        lane = self._lanes.get(self._routing.lane_of(stream))
        if lane is not None:
            lane.appended(stream, epoch, entries)

    def _retire(self, lane: Lane) -> None:
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
