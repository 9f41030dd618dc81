"""Reads over many sessions at once: one pipeline on a standalone Redis, one command per
session on a Cluster (see :func:`realtime.backends.redis_pool.pipelines_many_sessions`
for why not a cluster pipeline)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from realtime.backends.redis_pool import pipelines_many_sessions

__all__ = ["DURABLE_PAGE", "hget_many", "xrange_many"]

#: XRANGEs per pipeline in :func:`xrange_many`: redis-py reads a pipeline's answers all
#: before it returns, on one pooled connection, so a page bounds what one round trip holds
#: (500 x ``limit`` events at worst) and how long; a scan's 2,000 sessions take four.
DURABLE_PAGE = 500


async def hget_many(redis: Redis | RedisCluster, keys: Sequence[str], field: str) -> list[Any]:
    """``HGET key field`` for each of ``keys``, in order (None where missing)."""
    if pipelines_many_sessions(redis):
        async with redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hget(key, field)
            return list(await pipe.execute())
    # Side by side: a reader's epoch lookup runs after a reconnect, when a node may be down.
    return list(await asyncio.gather(*(redis.hget(key, field) for key in keys)))


async def xrange_many(redis: Redis | RedisCluster, keys: Sequence[str], limit: int) -> list[Any]:
    """The first ``limit`` entries above seq 0 of each stream of ``keys``, in order (raw
    ``XRANGE`` answers)."""
    if not pipelines_many_sessions(redis):
        return [await redis.xrange(key, min="1-0", max="+", count=limit) for key in keys]
    found: list[Any] = []
    for start in range(0, len(keys), DURABLE_PAGE):
        async with redis.pipeline(transaction=False) as pipe:
            for key in keys[start : start + DURABLE_PAGE]:
                pipe.xrange(key, min="1-0", max="+", count=limit)  # seq > 0
            found += await pipe.execute()
    return found
