"""Several flushers (one per web worker by default) scan as one: the holder of the
deployment's flusher duty (:mod:`realtime.duty`), on each backend and database. Another
takes over when the holder stops (at its next scan) or dies (when the lease lapses)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest

from realtime.backends import RealtimeBackend
from realtime.duty import SHORTEST_LEASE, Duty
from realtime.flusher import Flusher, FlusherPolicy
from storage.db import Database
from tests.support.polling import polled, until
from tests.transcripts.conftest import CountingReads, new_session, publish, stored
from tests.transcripts.test_flush_contract import conversation

POLICY = FlusherPolicy(interval_seconds=0.02)


@pytest.fixture
async def other_worker(
    backend: RealtimeBackend, backend_spec: tuple[str, str]
) -> AsyncIterator[RealtimeBackend]:
    """A second worker's backend on the same live state (in-process: the same one)."""
    if not backend_spec[0]:
        yield backend
        return
    from realtime.backends.redis import RedisBackend

    made = RedisBackend(backend_spec[0], key_prefix=backend_spec[1])
    try:
        yield made
    finally:
        await made.aclose()


@dataclass
class Pair:
    """Two workers' flushers on one database and one deployment's live state, each
    with its reads counted."""

    db: Database
    first: Flusher
    first_reads: CountingReads
    second: Flusher
    second_reads: CountingReads


def flusher(db: Database, backend: RealtimeBackend) -> tuple[Flusher, CountingReads]:
    reads = CountingReads(backend)
    made = Flusher(
        db,
        cast(RealtimeBackend, reads),
        POLICY,
        duty=Duty(backend, "flusher"),
    )
    made.listing.serving = lambda: True  # sockets open: it lists on every scan
    return made, reads


@pytest.fixture
async def pair(
    database_url: str, backend: RealtimeBackend, other_worker: RealtimeBackend
) -> AsyncIterator[Pair]:
    db = Database(database_url)
    try:
        yield Pair(db, *flusher(db, backend), *flusher(db, other_worker))
    finally:
        await db.aclose()


async def stored_messages(db: Database, sid: uuid.UUID) -> int:
    """The session's messages in SQL once the flusher has stored the conversation's eight
    (or what it holds after 10 s of waiting: every wait is bounded, a lapsed lease is 1 s)."""

    async def count() -> int:
        return len((await stored(db, sid))[0])

    return await polled(count, lambda found: found == 8)


async def test_one_flusher_scans_and_the_next_takes_over(
    pair: Pair, backend: RealtimeBackend, other_worker: RealtimeBackend
) -> None:
    db, first, second = pair.db, pair.first, pair.second
    stops = asyncio.Event(), asyncio.Event()
    async with asyncio.TaskGroup() as tasks:
        first_task = tasks.create_task(first.run(stops[0]))
        sid = await new_session(db)
        await publish(backend, sid, conversation())
        assert await stored_messages(db, sid) == 8
        tasks.create_task(second.run(stops[1]))
        await until(lambda: second.lag().get("duty") == "standby")
        looked = len(pair.first_reads.many)
        await until(lambda: len(pair.first_reads.many) >= looked + 5)
        # Five scans of the holder, as many loops of the other: none of them read.
        assert (pair.second_reads.many, pair.second_reads.single) == ([], [])
        assert first.lag()["duty"] == "held" and second.lag()["duty"] == "standby"
        assert second.lag()["unflushed_events"] == 0

        # The holder stops: it gives the duty up, and the other takes it at once.
        stops[0].set()
        await first_task
        assert first.lag()["duty"] == "standby"
        sid = await new_session(db)
        await publish(other_worker, sid, conversation())
        assert await stored_messages(db, sid) == 8
        assert second.lag()["duty"] == "held" and pair.second_reads.many
        stops[1].set()


async def test_a_dead_holders_duty_lapses_to_the_next(
    pair: Pair, other_worker: RealtimeBackend
) -> None:
    db, first, second = pair.db, pair.first, pair.second
    stop = asyncio.Event()
    async with asyncio.TaskGroup() as tasks:
        first_task = tasks.create_task(first.run(asyncio.Event()))
        await until(lambda: first.lag().get("duty") == "held")
        tasks.create_task(second.run(stop))
        await until(lambda: second.lag().get("duty") == "standby")
        # Killed: no loop of its own gives the duty up (a worker's kill -9).
        first_task.cancel()
        died = asyncio.get_running_loop().time()
        sid = await new_session(db)
        await publish(other_worker, sid, conversation())
        assert await stored_messages(db, sid) == 8
        waited = asyncio.get_running_loop().time() - died
        assert second.lag()["duty"] == "held" and pair.second_reads.many
        # Not before the lease lapsed: until then the dead holder had it. (It ran from
        # the holder's last renewal, up to a scan before the kill: a loaded scan can take
        # a good part of a second, hence half, where a standby not held back by the
        # duty would have stored the session within a scan or two, ~40 ms.)
        assert waited >= SHORTEST_LEASE / 2, waited
        stop.set()


async def test_a_holder_backing_off_keeps_its_duty(
    tmp_path: Path, backend: RealtimeBackend, other_worker: RealtimeBackend
) -> None:
    """The database is gone: the holder's scans fail and it waits longer each time
    (0.04, 0.08 ... 1.28 s here, past the shortest lease), renewing for as long as it
    will wait. The other stands by throughout: one flusher reports the outage, and the
    duty does not pass from one failing loop to the next."""
    gone = Database(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'db.sqlite'}")
    first, _ = flusher(gone, backend)
    second, second_reads = flusher(gone, other_worker)
    stops = asyncio.Event(), asyncio.Event()
    try:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(first.run(stops[0]))
            await until(lambda: first.lag().get("duty") == "held")
            tasks.create_task(second.run(stops[1]))
            await until(lambda: first.lag()["failed_scans"] == 7)  # its last wait 1.28 s
            assert first.lag()["duty"] == "held" and first.lag()["status"] == "retrying"
            assert second.lag()["duty"] == "standby" and second.lag()["failed_scans"] == 0
            assert (second_reads.many, second_reads.single) == ([], [])
            for stop in stops:
                stop.set()
    finally:
        await gone.aclose()
