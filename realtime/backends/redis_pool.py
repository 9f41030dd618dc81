"""redis-py's blocking pool, timing how long each command waited for a connection.

A worker's commands share :data:`~realtime.backends.redis.POOL_CONNECTIONS` connections
and wait up to ``POOL_WAIT_SECONDS`` for one; ``/metrics`` shows the waits
(``vclient_pool_wait_seconds{pool="redis"}``) long before a wait runs out and a
command fails with "No connection available".
"""

from __future__ import annotations

import time
from typing import Any

from redis.asyncio import BlockingConnectionPool
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError

from storage.pool_waits import WaitTally

__all__ = ["TimedBlockingPool", "pool_waits"]

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


def pool_waits(client: object) -> WaitTally | None:
    """The waits of ``client``'s pool: None for a Cluster client (a pool per node) or a
    client built elsewhere."""
    pool = getattr(client, "connection_pool", None)
    return pool.waits if isinstance(pool, TimedBlockingPool) else None
