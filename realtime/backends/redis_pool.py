"""A worker's Redis command client, and redis-py's blocking pool timing how long each
command waited for a connection.

A worker's commands share :data:`POOL_CONNECTIONS` connections
and wait up to ``POOL_WAIT_SECONDS`` for one; ``/metrics`` shows the waits
(``vclient_pool_wait_seconds{pool="redis"}``) long before a wait runs out and a
command fails with "No connection available".
"""

from __future__ import annotations

import time
from typing import Any, TypeGuard

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from realtime.backends.redis_packing import hiredis_packing
from realtime.backends.redis_routing import cluster_seed_url
from storage.pool_waits import WaitTally

__all__ = [
    "POOL_CONNECTIONS",
    "POOL_WAIT_SECONDS",
    "TimedBlockingPool",
    "pool_waits",
    "redis_client",
]

#: Connections per Redis client, and how long a command waits for a free one. redis-py 8's
#: default pool holds 100 and fails the 101st command at once ("Too many connections"):
#: 500 sockets reconnecting together after a worker restart lost ~40 of them that way.
#: Waiting keeps such a burst in order (a reconnect needs a few commands of ~0.1 ms); a
#: worker's steady need is a few dozen connections.
POOL_CONNECTIONS = 100
POOL_WAIT_SECONDS = 10.0

#: What redis-py 8's blocking pool raises when its wait runs out (a refused connection
#: raises the same class with another message, and is not a wait).
_NO_CONNECTION = "No connection available."


class TimedBlockingPool(BlockingConnectionPool):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.waits = WaitTally()

    async def get_connection(self, *args: Any, **kwargs: Any) -> AbstractConnection:
        # Timed inline, not with WaitTally.timing: every Redis command comes through here
        # (a context manager cost ~6% of this checkout in a py-spy profile at S=25).
        started = time.monotonic()
        try:
            connection: AbstractConnection = await super().get_connection(  # type: ignore[no-untyped-call]
                *args, **kwargs
            )
        except RedisConnectionError as error:
            if str(error) == _NO_CONNECTION:
                self.waits.timed_out()
            raise
        self.waits.observe(time.monotonic() - started)
        return connection


def pipelines_many_sessions(client: Redis | RedisCluster) -> TypeGuard[Redis]:
    """Whether a call on many sessions (the flusher's durable reads, the watchdog's budget
    snapshots, a reader's epoch lookup) may go as one pipeline: on a standalone Redis (or
    a Sentinel-managed primary) yes; on a Cluster, one command per session instead.

    redis-py 8.1's cluster pipeline, when one node's connection fails or times out,
    closes every connection of the shared client, which other tasks' commands are in
    flight on too, and runs again after 0.25 s, up to 10 times (``PipelineStrategy.
    execute``). With one node of a private cluster killed, an append script in flight on
    a healthy node was cut off and sent again each time: it ran 5 times. A lone
    command's failure only replaces its own node's connections (there it ran once)."""
    return not isinstance(client, RedisCluster)


def pool_waits(client: object) -> WaitTally | None:
    """The waits of ``client``'s pool: None for a Cluster client (a pool per node) or a
    client built elsewhere."""
    pool = getattr(client, "connection_pool", None)
    return pool.waits if isinstance(pool, TimedBlockingPool) else None


def redis_client(url: str, **options: Any) -> Redis | RedisCluster:
    """A command client: ``RedisCluster`` for a ``redis+cluster://`` (or ``rediss+cluster://``)
    URL naming any node of the cluster, else a plain ``Redis`` (``redis://``, ``rediss://``,
    ``unix://``). No I/O; a cluster client loads its slot map on first use."""
    seed = cluster_seed_url(url)
    if seed is None:
        # redis-py 8.1.0 skips its pool's dead-connection check while maintenance
        # notifications (a Redis Enterprise feature) are "auto", its RESP3 default: after a
        # Redis restart every idle pooled connection then failed one command, a reply's
        # lease refresh among them (redis-py #4252, fixed upstream after 8.1.0). Off, a
        # connection the server closed is replaced at checkout, before anything is sent.
        pool = TimedBlockingPool.from_url(
            url,
            **{
                "max_connections": POOL_CONNECTIONS,
                "timeout": POOL_WAIT_SECONDS,
                # Never send a command again after a lost answer: Redis may have run it (an
                # append twice is a repeated word in a reply). redis-py 8's pooled
                # connections already default to no retry; said here so it stays so.
                "retry": Retry(NoBackoff(), 0),
                **_without_maintenance_notifications(),
                **options,
            },
        )
        pool.connection_class = hiredis_packing(pool.connection_class)
        return Redis.from_pool(pool)
    # redis-py's default (5) closes all of the client's connections on every 5th MOVED;
    # commands in flight on them fail and are retried, so an append that already ran
    # would run twice (a burnt seq). 0: patch the one moved slot instead.
    options.setdefault("reinitialize_steps", 0)
    return RedisCluster.from_url(seed, **options)


def _without_maintenance_notifications() -> dict[str, Any]:
    try:
        from redis.maint_notifications import MaintNotificationsConfig
    except ImportError:  # an older redis-py: none to turn off, every checkout is checked
        return {}
    return {"maint_notifications_config": MaintNotificationsConfig(enabled=False)}
