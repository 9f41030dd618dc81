"""A real ``vclient flusher`` process ``kill -9``-ed between its SQL commit and its trim
(issue 16, "Faults"): no loss, no duplicate row.

The flusher's Redis is a private ``redis-server`` put in ``CLIENT PAUSE ... WRITE``: the
flusher still reads the durable stream (XRANGE) and commits the batch to SQL, then blocks
in its trim (XTRIM, a write). The test waits for the commit to show in SQL, checks the
stream is untouched, and kills the process there; then un-pauses, adds more events, and
does it again. A last flusher drains the rest. 2 kills by default, 10 with
``HARDENING_FULL=1``; tests/hardening/test_faults_flusher_kill.py repeats the same cut
thousands of times in process.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import asyncpg
import pytest

from tests.hardening.conftest import repetitions
from tests.hardening.faults_redis import PrivateRedis, private_redis
from tests.support.processes import cli_process
from tests.support.servers import ManagedProcess
from tests.support.world import Socket, World, make_world

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

KILLS = repetitions(ci=2, full=10)
WHISPERS_PER_ROUND = 30
# Long enough for a cold flusher start (~2 s) and its first scan; un-paused explicitly.
PAUSE_MS = 60_000


@pytest.fixture
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[World, PrivateRedis]]:
    with (
        private_redis(tmp_path / "redis") as redis,
        make_world(
            tmp_path,
            request.getfixturevalue("postgres_url"),
            redis.url,
            1,
            FLUSHER_IN_PROCESS="false",  # only the flusher processes of the test flush
        ) as w,
    ):
        yield w, redis


async def whisper(teacher: Socket, texts: list[str]) -> None:
    for text in texts:
        await teacher.send(type="whisper", text=text)
    await teacher.until(lambda e: e.get("text") == texts[-1], within=30)


async def stored(dsn: str, sid: str) -> tuple[int, int, int]:
    """Whisper rows in messages, distinct seqs among them, whisper audit rows."""
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        row = await conn.fetchrow(
            "select count(*), count(distinct seq) from messages"
            " where session_id = $1 and role = 'whisper'",
            uuid.UUID(sid),
        )
        audits = await conn.fetchval(
            "select count(*) from session_events where session_id = $1 and kind = 'whisper'",
            uuid.UUID(sid),
        )
    finally:
        await conn.close()
    assert row is not None
    return int(row[0]), int(row[1]), int(audits)


def test_flusher_process_killed_between_commit_and_trim(
    world: tuple[World, PrivateRedis], request: pytest.FixtureRequest
) -> None:
    the_world, redis = world
    dsn = request.getfixturevalue("postgres_url").replace("postgresql+asyncpg", "postgresql")
    session = the_world.new_session()
    durable = f"vc:{{{session.id}}}:durable"
    total, kills, committed_at_kill = 0, 0, []

    async def round_of_whispers(n: int) -> None:
        async with the_world.connect(session, as_="teacher") as teacher:
            await teacher.recv()
            await whisper(teacher, [f"round {n} hint {i}" for i in range(WHISPERS_PER_ROUND)])

    for n in range(KILLS):
        asyncio.run(round_of_whispers(n))
        total += WHISPERS_PER_ROUND
        with redis.client() as admin:
            waiting = admin.xlen(durable)
            before = asyncio.run(stored(dsn, session.id))[0]
            admin.execute_command("CLIENT", "PAUSE", PAUSE_MS, "WRITE")
            try:
                with the_world_flusher(the_world) as flusher:
                    deadline = time.monotonic() + 30
                    while asyncio.run(stored(dsn, session.id))[0] == before:
                        assert time.monotonic() < deadline, "the flusher committed nothing"
                        time.sleep(0.02)  # polling SQL for the commit
                    # Committed, and blocked in its trim: the stream still holds it all.
                    assert admin.xlen(durable) == waiting
                    flusher.kill()  # kill -9 between the commit and the trim
                    kills += 1
                    committed_at_kill.append(asyncio.run(stored(dsn, session.id))[0])
            finally:
                admin.execute_command("CLIENT", "UNPAUSE")
    with the_world_flusher(the_world):
        deadline = time.monotonic() + 30
        while asyncio.run(stored(dsn, session.id)) != (total, total, total):
            assert time.monotonic() < deadline, asyncio.run(stored(dsn, session.id))
            time.sleep(0.05)  # polling SQL for the catch-up
        with redis.client() as admin:
            deadline = time.monotonic() + 10
            while admin.xlen(durable) != 0:
                assert time.monotonic() < deadline, admin.xlen(durable)
                time.sleep(0.05)  # the trim follows the commit
    assert asyncio.run(stored(dsn, session.id)) == (total, total, total)
    print(
        f"HARDENING faults: vclient flusher killed -9 between commit and trim {kills} times"
        f" (rows in SQL at each kill: {committed_at_kill}): {total} whispers stored once each,"
        f" stream drained"
    )


def the_world_flusher(world: World) -> AbstractContextManager[ManagedProcess]:
    """``vclient flusher`` as its own process, once it says it is running."""
    return cli_process(["flusher"], world.env, world.cwd)
