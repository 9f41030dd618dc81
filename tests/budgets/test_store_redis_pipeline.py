"""``snapshot_many`` on a standalone Redis: one pipeline per page of sessions, counted at
the socket (every write is one round trip), and scripts Redis lost are loaded again. The
store a deployment builds runs its ledger's scripts on a connection of its own, never
taking one from the client's pool, and closes it."""

from __future__ import annotations

import uuid

import pytest
from redis.asyncio import Redis

from realtime.backends.redis_pool import TimedBlockingPool, redis_client
from realtime.backends.redis_scripts import ScriptPipe
from realtime.budgets import Reserved, make_budget_store
from realtime.budgets.redis_store import SNAPSHOT_PAGE, RedisBudgetStore
from realtime.budgets.store import BudgetSnapshot
from tests.support.redis_writes import as_if_warm, redis_writes

pytestmark = pytest.mark.redis


async def test_snapshots_of_25_sessions_are_one_write(
    redis: Redis, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RedisBudgetStore(redis, redis_prefix)
    sids = [str(uuid.uuid4()) for _ in range(25)]
    for n, sid in enumerate(sids[1:]):
        await store.ensure(sid, 1_000, n)
    await store.snapshot_many(sids[:1])  # Redis knows the script from here on
    with redis_writes(monkeypatch) as sent:
        found = await store.snapshot_many(sids)
    assert found == [None] + [BudgetSnapshot(1_000, n, 0) for n in range(24)]
    # 25 before: one EVALSHA each. Not two either: a pipeline given the script through
    # redis-py's Script(client=pipe) first asks SCRIPT EXISTS, each time.
    assert as_if_warm(sent) == ["EVALSHA"], sent
    with redis_writes(monkeypatch) as sent:
        await store.snapshot_many((sids * SNAPSHOT_PAGE)[: SNAPSHOT_PAGE + 1])  # two pages
    assert as_if_warm(sent) == ["EVALSHA", "EVALSHA"], sent


# SCRIPT FLUSH is the whole server's: beside it, a test holding a script's answer gets
# NOSCRIPT instead, and another test's load undoes the flush (make test runs it alone).
@pytest.mark.serial
async def test_lost_scripts_are_loaded_and_the_page_sent_again(
    redis: Redis, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RedisBudgetStore(redis, redis_prefix)
    sids = [str(uuid.uuid4()) for _ in range(3)]
    await store.ensure(sids[0], 1_000, 10)
    await store.snapshot_many(sids)
    await redis.script_flush()  # as after a Redis restart
    with redis_writes(monkeypatch) as sent:
        found = await store.snapshot_many(sids)
    assert found == [BudgetSnapshot(1_000, 10, 0), None, None]
    # The page Redis refused with NOSCRIPT, the script's load, and the page again.
    assert sent == ["EVALSHA", "SCRIPT LOAD", "EVALSHA"]


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
