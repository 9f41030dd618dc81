"""Pool waits: the tally (pure), and the real pools timing their checkouts, a SQLAlchemy
pool on PostgreSQL and redis-py's blocking pool on Redis, each of one connection held by
one caller while a second one waits (and, with nobody letting go, gives up)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import text
from sqlalchemy.exc import TimeoutError as PoolTimeout

from realtime.backends.redis_pool import TimedBlockingPool, redis_client
from storage.db import Database
from storage.pool_waits import WAIT_BUCKETS, TimedQueuePool, WaitTally


def test_the_tally_counts_each_wait_in_its_bucket_and_the_timeouts_apart() -> None:
    tally = WaitTally()
    for seconds in (0.0001, 0.001, 0.02, 45.0):
        tally.observe(seconds)
    with pytest.raises(TimeoutError), tally.timing(TimeoutError):
        raise TimeoutError
    with pytest.raises(ValueError), tally.timing(TimeoutError):
        raise ValueError  # a refused connection: neither a wait nor a timeout
    snap = tally.snapshot()
    assert snap.count == 4 and snap.timeouts == 1
    assert snap.total_seconds == pytest.approx(45.0211)
    le = dict(zip(WAIT_BUCKETS, snap.cumulative, strict=False))
    assert le[0.001] == 2 and le[0.005] == 2 and le[0.025] == 3 and le[30.0] == 3
    assert snap.cumulative[-1] == 4  # +Inf


# Timing: the waiter must get the connection within pool_timeout (0.3 s) of the holder's
# 0.1 s hold, which a loaded second xdist worker could stall past.
@pytest.mark.timing
async def test_the_sql_pool_times_a_wait_and_counts_a_timeout(postgres_url: str) -> None:
    db = Database(postgres_url, pool_size=1, max_overflow=0, pool_timeout=0.3)
    waits = db.pool_waits
    assert waits is not None
    held = await db.engine.connect()  # the pool's only connection
    with pytest.raises(PoolTimeout):
        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    assert waits.snapshot().timeouts == 1

    # A second caller waits while the first holds the connection for 100 ms: the wait is
    # measured (the waiter's task runs first, so it is queued before the hold starts).
    async def waiter() -> None:
        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def holder() -> None:
        await asyncio.sleep(0.1)
        await held.close()

    before = waits.snapshot()
    await asyncio.wait_for(asyncio.gather(waiter(), holder()), 5)
    snap = waits.snapshot()
    assert snap.count == before.count + 1 and snap.timeouts == 1
    assert snap.total_seconds - before.total_seconds >= 0.09
    await db.aclose()


async def test_a_sqlite_file_is_pooled_and_timed_in_memory_is_not(tmp_path: Path) -> None:
    memory = Database("sqlite+aiosqlite:///:memory:")
    assert memory.pool_waits is None
    await memory.aclose()
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'pooled.db'}", pool_size=1, max_overflow=0)
    waits = db.pool_waits
    assert waits is not None
    for _ in range(3):
        async with db.session() as s:
            await s.execute(text("SELECT 1"))
    assert waits.snapshot().count == 3
    # One connection served all three: the pool kept it (one aiosqlite thread).
    pool = db.engine.pool
    assert isinstance(pool, TimedQueuePool) and pool.checkedin() == 1
    await db.aclose()


async def test_the_redis_pool_times_a_wait_and_counts_a_timeout(redis_url: str) -> None:
    client = redis_client(redis_url, max_connections=1, timeout=0.3)
    assert isinstance(client, Redis)
    pool = client.connection_pool
    assert isinstance(pool, TimedBlockingPool)
    await client.ping()
    assert pool.waits.snapshot().count == 1
    held = await pool.get_connection()
    with pytest.raises(RedisConnectionError):
        await client.ping()
    snap = pool.waits.snapshot()
    assert snap.timeouts == 1 and snap.count == 2
    await pool.release(held)
    await client.ping()
    assert pool.waits.snapshot().count == 3
    await client.aclose()
