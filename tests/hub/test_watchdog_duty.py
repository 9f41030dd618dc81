"""Several watchdogs (one per web worker by default, or a redundant ``vclient
watchdog``) scan as one: the holder of the deployment's watchdog duty
(:mod:`realtime.duty`) does, and another takes over when it stops. On SQLite and
PostgreSQL, with the in-process backend and with Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from realtime.backends import MemoryBackend, RealtimeBackend
from realtime.budgets import MemoryBudgetStore
from realtime.control import SessionControl
from realtime.duty import Duty
from realtime.watchdog import Watchdog, WatchdogPolicy
from storage.db import Database
from tests.hub.started import started_session
from tests.hub.test_watchdog_scan import pages, statements
from tests.support.polling import until
from tests.support.sqlite_threads import aiosqlite_threads_done

POLICY = WatchdogPolicy(interval_seconds=0.02)


@pytest.fixture(params=["memory", "redis"])
async def workers(request: pytest.FixtureRequest) -> AsyncIterator[list[RealtimeBackend]]:
    """Two workers' backends on the same live state (in-process: the one backend)."""
    if request.param == "memory":
        yield [MemoryBackend()] * 2
        return
    from realtime.backends.redis import RedisBackend

    url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
    made: list[RealtimeBackend] = [RedisBackend(url, key_prefix=prefix) for _ in range(2)]
    try:
        yield made
    finally:
        for backend in made:
            await backend.aclose()


async def test_one_watchdog_scans_and_the_next_takes_over(
    database_url: str, workers: list[RealtimeBackend]
) -> None:
    # A database each, as each worker has, so each one's SQL is told apart.
    dbs = [Database(database_url), Database(database_url)]
    budgets = MemoryBudgetStore()
    dogs = [
        Watchdog(
            db,
            SessionControl(db),
            budgets,
            POLICY,
            duty=Duty(backend, "watchdog"),
        )
        for db, backend in zip(dbs, workers, strict=True)
    ]
    stops = [asyncio.Event(), asyncio.Event()]
    try:
        await started_session(dbs[0], SessionControl(dbs[0]))  # something to scan
        with statements(dbs[0]) as by_first, statements(dbs[1]) as by_second:
            async with asyncio.TaskGroup() as tasks:
                first = tasks.create_task(dogs[0].run(stops[0]))
                await until(lambda: len(pages(by_first)) >= 1)
                tasks.create_task(dogs[1].run(stops[1]))
                scanned = len(pages(by_first))
                await until(lambda: len(pages(by_first)) >= scanned + 5)
                # Five scans of the holder, as many loops of the other: it sent no SQL.
                assert by_second == []
                assert dogs[0].duty is not None and dogs[0].duty.held
                assert dogs[1].duty is not None and not dogs[1].duty.held
                stops[0].set()  # stopping, it gives the duty up
                await first
                await until(lambda: len(pages(by_second)) >= 1)
                assert dogs[1].duty.held and not dogs[0].duty.held
                stops[1].set()
    finally:
        for db in dbs:
            await db.aclose()
        await aiosqlite_threads_done()
