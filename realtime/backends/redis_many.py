"""Reads over many sessions at once: one pipeline on a standalone Redis, one command per
session on a Cluster (see :func:`realtime.backends.redis_pool.pipelines_many_sessions`
for why not a cluster pipeline). Scripts run for many sessions go through
:meth:`realtime.backends.redis_scripts.Scripts.run_many` instead."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from realtime.backends.redis_pool import pipelines_many_sessions

__all__ = ["hget_many"]


async def hget_many(redis: Redis | RedisCluster, keys: Sequence[str], field: str) -> list[Any]:
    """``HGET key field`` for each of ``keys``, in order (None where missing)."""
    if pipelines_many_sessions(redis):
        async with redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hget(key, field)
            return list(await pipe.execute())
    # Side by side: a reader's epoch lookup runs after a reconnect, when a node may be down.
    return list(await asyncio.gather(*(redis.hget(key, field) for key in keys)))
