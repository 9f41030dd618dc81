"""One contract for both budget stores: in-process, real Redis (its scripts through the
client, or on the worker's own script connection as a deployment runs them) and a local
Redis Cluster."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Sequence

import pytest

from realtime.budgets import WARNING_LEVELS, BudgetStore, MemoryBudgetStore, Refused, Reserved
from realtime.budgets.store import BudgetSnapshot, BudgetStart
from tests.support.redis_cluster import (  # noqa: F401 - fixtures
    redis_cluster,
    redis_cluster_prefix,
    redis_cluster_url,
)

BACKENDS = ["memory", "redis", "redis-pipe", "cluster"]


async def _stores(
    request: pytest.FixtureRequest, levels: Sequence[int] = WARNING_LEVELS
) -> AsyncIterator[list[BudgetStore]]:
    """Two handles on one budget space: for Redis, two separate clients (= two workers)."""
    if request.param == "memory":
        store = MemoryBudgetStore(levels=levels)
        yield [store, store]
        return
    from realtime.backends.redis_pool import redis_client
    from realtime.backends.redis_scripts import scripts_for
    from realtime.budgets.redis_store import RedisBudgetStore

    cluster = request.param == "cluster"
    url = request.getfixturevalue("redis_cluster_url" if cluster else "redis_url")
    prefix = request.getfixturevalue("redis_cluster_prefix" if cluster else "redis_prefix")
    clients = [redis_client(url, decode_responses=True) for _ in range(2)]
    pair = [
        RedisBudgetStore(
            client,
            prefix,
            levels=levels,
            scripts=scripts_for(client) if request.param == "redis-pipe" else None,
        )
        for client in clients
    ]
    yield list(pair)
    for opened in pair:
        await opened.aclose()
    for client in clients:
        await client.aclose()


@pytest.fixture(params=BACKENDS)
async def stores(request: pytest.FixtureRequest) -> AsyncIterator[list[BudgetStore]]:
    async for pair in _stores(request):
        yield pair


@pytest.fixture(params=BACKENDS)
async def stores_warning_at_50_70_90(
    request: pytest.FixtureRequest,
) -> AsyncIterator[list[BudgetStore]]:
    """Stores given levels other than the default: no level is spelled in the scripts."""
    async for pair in _stores(request, levels=(50, 70, 90)):
        yield pair


@pytest.fixture(params=BACKENDS)
async def stores_warning_never(request: pytest.FixtureRequest) -> AsyncIterator[list[BudgetStore]]:
    async for pair in _stores(request, levels=()):
        yield pair


async def test_reserve_settle_snapshot(stores: list[BudgetStore]) -> None:
    store = stores[0]
    sid = str(uuid.uuid4())
    assert await store.ensure(sid, budget=1000, used=100) == BudgetSnapshot(1000, 100, 0)
    # Idempotent: the first values stay.
    assert await store.ensure(sid, budget=5, used=0) == BudgetSnapshot(1000, 100, 0)
    hold = await store.reserve(sid, "r1", 200, 1000, 20)
    assert hold == Reserved("r1", 900, 700, used=100, budget=1000)
    assert (await store.snapshot(sid)).reserved == 900
    assert await store.reserve(sid, "r2", 10, 100, 20) == Refused("budget_exhausted", 0)
    settled = await store.settle(sid, "r1", 200, 300)
    assert (settled.charged, settled.used, settled.budget) == (500, 600, 1000)
    snap = await store.snapshot(sid)
    assert (snap.used, snap.reserved, snap.left) == (600, 0, 400)


async def test_a_reservation_given_a_start_sets_the_budget_up(stores: list[BudgetStore]) -> None:
    sid = str(uuid.uuid4())
    hold = await stores[0].reserve(sid, "r1", 100, 500, 20, start=BudgetStart(1000, 300))
    assert hold == Reserved("r1", 600, 500, used=300, budget=1000)
    assert await stores[1].snapshot(sid) == BudgetSnapshot(1000, 300, 600)
    # Set up once: a later start changes nothing (the first values stay), as with ensure.
    hold = await stores[1].reserve(sid, "r2", 50, 500, 20, start=BudgetStart(5, 0))
    assert hold == Reserved("r2", 100, 50, used=300, budget=1000)
    assert await stores[0].ensure(sid, 7, 7) == BudgetSnapshot(1000, 300, 700)
    # A retried reservation answers what it holds, and where the ledger stands.
    settled = await stores[0].settle(sid, "r1", 100, 200)
    assert settled.used == 600
    again = await stores[1].reserve(sid, "r2", 50, 500, 20, start=BudgetStart(1000, 300))
    assert again == Reserved("r2", 100, 50, used=600, budget=1000)


async def test_unknown_session_raises(stores: list[BudgetStore]) -> None:
    with pytest.raises(KeyError):
        await stores[0].reserve(str(uuid.uuid4()), "r", 1, 1, 1)


async def test_warnings_and_extend(stores: list[BudgetStore]) -> None:
    store = stores[0]
    sid = str(uuid.uuid4())
    await store.ensure(sid, 1000, 0)
    await store.reserve(sid, "a", 0, 850, 1)
    assert (await store.settle(sid, "a", 0, 850)).crossed == (80,)
    await store.reserve(sid, "b", 0, 100, 1)
    assert (await store.settle(sid, "b", 0, 100)).crossed == (95,)
    await store.extend(sid, 1000)
    assert (await store.snapshot(sid)).budget == 2000
    await store.reserve(sid, "c", 0, 700, 1)
    assert (await store.settle(sid, "c", 0, 700)).crossed == (80,)


async def test_warnings_at_the_levels_passed_in(
    stores_warning_at_50_70_90: list[BudgetStore],
) -> None:
    store = stores_warning_at_50_70_90[0]
    sid = str(uuid.uuid4())
    await store.ensure(sid, 1000, 0)
    await store.reserve(sid, "a", 0, 499, 1)
    assert (await store.settle(sid, "a", 0, 499)).crossed == ()  # 49.9 %
    await store.reserve(sid, "b", 0, 300, 1)
    assert (await store.settle(sid, "b", 0, 201)).crossed == (50, 70)  # exactly 70 %
    await store.reserve(sid, "c", 0, 300, 1)
    assert (await store.settle(sid, "c", 0, 200)).crossed == (90,)
    await store.extend(sid, 300)  # 900 of 1,300: 69.2 %, so 70 and 90 re-arm, 50 stays
    await store.reserve(sid, "d", 0, 300, 1)
    assert (await store.settle(sid, "d", 0, 10)).crossed == (70,)  # 910 of 1,300 = 70 %
    await store.reserve(sid, "e", 0, 300, 1)
    assert (await store.settle(sid, "e", 0, 300)).crossed == (90,)


async def test_no_levels_no_warnings(stores_warning_never: list[BudgetStore]) -> None:
    store = stores_warning_never[0]
    sid = str(uuid.uuid4())
    await store.ensure(sid, 100, 0)
    await store.reserve(sid, "a", 0, 100, 1)
    settled = await store.settle(sid, "a", 0, 100)
    assert (settled.used, settled.crossed) == (100, ())
    await store.extend(sid, 100)
    assert (await store.snapshot(sid)).budget == 200


async def test_concurrent_calls_never_overspend(stores: list[BudgetStore]) -> None:
    """60 concurrent calls from two workers against a budget that fits ~10 of them."""
    sid = str(uuid.uuid4())
    await stores[0].ensure(sid, 2_000, 0)
    rng = random.Random(7)
    charged: list[int] = []

    async def call(n: int) -> None:
        store = stores[n % 2]
        hold = await store.reserve(sid, f"r{n}", 80, 300, 30)
        if isinstance(hold, Refused):
            return
        await asyncio.sleep(0)  # let the others interleave between reserve and settle
        # Real usage: sometimes more than the reservation (bad estimate), mostly less.
        settled = await store.settle(
            sid, f"r{n}", 80 + rng.randint(-20, 20), rng.randint(0, hold.max_tokens + 50)
        )
        charged.append(settled.charged)

    await asyncio.gather(*(call(n) for n in range(60)))
    snap = await stores[1].snapshot(sid)
    assert snap.used == sum(charged)
    assert snap.used <= 2_000
    assert snap.reserved == 0  # nothing leaked
    assert 5 <= len(charged) < 60  # some calls ran, the rest were refused


async def test_dead_workers_hold_is_reclaimed(
    stores: list[BudgetStore], request: pytest.FixtureRequest
) -> None:
    sid = str(uuid.uuid4())
    await stores[0].ensure(sid, 1000, 0)
    # A worker reserves with a lease that has already run out, then dies (never settles).
    dead: BudgetStore
    if isinstance(stores[0], MemoryBudgetStore):
        dead = stores[0]
        dead._ttl = 0.0  # the same in-process store, seen by a worker with no lease left
    else:
        from realtime.budgets.redis_store import RedisBudgetStore

        live = stores[0]
        assert isinstance(live, RedisBudgetStore)
        dead = RedisBudgetStore(live._redis, live._prefix, ttl=0)
    assert isinstance(await dead.reserve(sid, "crashed", 100, 900, 10), Reserved)
    if isinstance(dead, MemoryBudgetStore):
        dead._ttl = 180.0
    assert (await stores[1].snapshot(sid)).reserved == 0  # reclaimed on read, too
    hold = await stores[1].reserve(sid, "next", 100, 900, 10)
    assert hold == Reserved("next", 1000, 900, used=0, budget=1000)
    assert (await stores[1].snapshot(sid)).reserved == 1000


async def test_snapshot_many_answers_as_snapshot_does_in_order(stores: list[BudgetStore]) -> None:
    store = stores[0]
    sids = [str(uuid.uuid4()) for _ in range(3)]
    await store.ensure(sids[0], 1000, 100)
    await store.ensure(sids[1], 300, 300)
    await store.reserve(sids[2], "r1", 50, 200, 20, start=BudgetStart(500, 0))
    never = str(uuid.uuid4())  # no reply yet on any worker: never set up
    with pytest.raises(KeyError):
        await stores[1].snapshot(never)
    asked = [sids[2], never, sids[0], sids[1], sids[0]]
    one_by_one = [await stores[1].snapshot(sid) if sid != never else None for sid in asked]
    assert await stores[1].snapshot_many(asked) == one_by_one
    assert one_by_one == [
        BudgetSnapshot(500, 0, 250),
        None,
        BudgetSnapshot(1000, 100, 0),
        BudgetSnapshot(300, 300, 0),
        BudgetSnapshot(1000, 100, 0),
    ]
    assert await store.snapshot_many([]) == []


async def test_snapshot_many_of_more_sessions_than_a_page(stores: list[BudgetStore]) -> None:
    from realtime.backends.redis_scripts import AT_ONCE

    sids = [str(uuid.uuid4()) for _ in range(AT_ONCE + 2)]
    await asyncio.gather(*(stores[0].ensure(sid, 1000, n) for n, sid in enumerate(sids[1:])))
    found = await stores[1].snapshot_many(sids)
    assert found == [None] + [BudgetSnapshot(1000, n, 0) for n in range(AT_ONCE + 1)]
