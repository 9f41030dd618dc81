"""``snapshot_many`` on a standalone Redis: one pipeline per page of sessions, counted at
the socket (every write is one round trip), and scripts Redis lost are loaded again."""

from __future__ import annotations

import uuid

import pytest
from redis.asyncio import Redis

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
