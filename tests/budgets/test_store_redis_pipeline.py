"""``snapshot_many`` on a standalone Redis: one write per page of sessions on the store's
script connection, counted at the socket, and scripts Redis lost are loaded again. The
store a deployment builds runs its ledger's scripts on a connection of its own, never
taking one from the client's pool, and closes it."""

from __future__ import annotations

import uuid

import pytest
from redis.asyncio import Redis

from realtime.backends.redis_pool import TimedBlockingPool, redis_client
from realtime.backends.redis_scripts import AT_ONCE, ScriptPipe
from realtime.budgets import Reserved, make_budget_store
from realtime.budgets.redis_store import RedisBudgetStore
from realtime.budgets.store import BudgetSnapshot
from tests.support.redis_writes import as_if_warm, redis_writes

pytestmark = pytest.mark.redis


async def piped_store(redis_url: str, prefix: str) -> tuple[RedisBudgetStore, Redis]:
    """A store as a deployment builds it: its scripts on a connection of its own."""
    client = redis_client(redis_url, decode_responses=True)
    assert isinstance(client, Redis)
    store = make_budget_store(client, prefix)
    assert isinstance(store, RedisBudgetStore)
    return store, client


async def test_snapshots_of_25_sessions_are_one_write(
    redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, client = await piped_store(redis_url, redis_prefix)
    try:
        sids = [str(uuid.uuid4()) for _ in range(25)]
        for n, sid in enumerate(sids[1:]):
            await store.ensure(sid, 1_000, n)
        await store.snapshot_many(sids[:1])  # Redis knows the script from here on
        pipe = store._scripts
        assert isinstance(pipe, ScriptPipe) and pipe.wire is not None
        writes, commands = pipe.wire.writes, pipe.wire.commands
        with redis_writes(monkeypatch) as sent:
            found = await store.snapshot_many(sids)
        assert found == [None] + [BudgetSnapshot(1_000, n, 0) for n in range(24)]
        # 25 before: one round trip each (a pipeline's worth of redis-py per command).
        assert as_if_warm(sent) == ["EVALSHA"] * 25  # all on the pipe
        assert (pipe.wire.writes - writes, pipe.wire.commands - commands) == (1, 25)
        writes = pipe.wire.writes
        await store.snapshot_many((sids * AT_ONCE)[: AT_ONCE + 1])  # two pages
        assert pipe.wire.writes - writes == 2
    finally:
        await store.aclose()
        await client.aclose()


# SCRIPT FLUSH is the whole server's: beside it, a test holding a script's answer gets
# NOSCRIPT instead, and another test's load undoes the flush (make test runs it alone).
@pytest.mark.serial
async def test_lost_scripts_are_loaded_and_the_page_sent_again(
    redis: Redis, redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, client = await piped_store(redis_url, redis_prefix)
    try:
        sids = [str(uuid.uuid4()) for _ in range(3)]
        await store.ensure(sids[0], 1_000, 10)
        await store.snapshot_many(sids)
        await redis.script_flush()  # as after a Redis restart
        with redis_writes(monkeypatch) as sent:
            found = await store.snapshot_many(sids)
        assert found == [BudgetSnapshot(1_000, 10, 0), None, None]
        # The page Redis refused with NOSCRIPT; its first call again as EVAL (which loads
        # the script), then the others again together.
        assert sent == ["EVALSHA"] * 3 + ["EVAL", "EVALSHA", "EVALSHA"]
    finally:
        await store.aclose()
        await client.aclose()


async def test_a_deployed_store_runs_its_scripts_on_its_own_connection(
    redis_url: str, redis_prefix: str
) -> None:
    client = redis_client(redis_url, decode_responses=True)
    assert isinstance(client, Redis)
    store = make_budget_store(client, redis_prefix)
    assert isinstance(store, RedisBudgetStore)
    sid = str(uuid.uuid4())
    try:
        await store.ensure(sid, 1_000, 0)
        hold = await store.reserve(sid, "r1", 100, 400, 10)
        assert hold == Reserved("r1", 500, 400, used=0, budget=1_000)
        settled = await store.settle(sid, "r1", 100, 50)
        assert (settled.charged, settled.used) == (150, 150)
        assert await store.snapshot(sid) == BudgetSnapshot(1_000, 150, 0)
        pipe = store._scripts
        assert isinstance(pipe, ScriptPipe) and pipe.wire is not None
        assert pipe.wire.commands >= 4  # ensure, reserve, settle, snapshot (and any EVAL)
        pool = client.connection_pool
        assert isinstance(pool, TimedBlockingPool)
        assert pool.waits.snapshot().count == 0  # not one checkout from the pool
    finally:
        await store.aclose()
        await client.aclose()
    assert pipe.wire is None or pipe.wire.lost
