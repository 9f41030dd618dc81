"""Database.unreachable: set when a session loses (or never gets) its connection, cleared
by the next session that works; a failing query is not a lost database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage.db import Database, connection_lost
from tests.support.sqlite_threads import aiosqlite_threads_done


async def test_a_lost_database_is_noted_and_forgotten_when_it_answers(tmp_path: Path) -> None:
    missing = Database(f"sqlite+aiosqlite:///{tmp_path / 'no-such-dir' / 'x.db'}")
    with pytest.raises(Exception) as raised:
        async with missing.session() as s:
            await s.execute(text("SELECT 1"))
    assert connection_lost(raised.value) and missing.unreachable
    await missing.aclose()

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'ok.db'}")
    db.unreachable = True  # as left by an outage
    async with db.session() as s:
        await s.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY)"))
        await s.execute(text("INSERT INTO t VALUES (1)"))
    assert not db.unreachable
    with pytest.raises(IntegrityError) as duplicate:
        async with db.session() as s:
            await s.execute(text("INSERT INTO t VALUES (1)"))
    assert not connection_lost(duplicate.value) and not db.unreachable
    await db.aclose()
    await aiosqlite_threads_done()


async def test_reachable_asks_the_database_and_mends_a_stale_flag(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'ok.db'}")
    db.unreachable = True  # left by a lone failure while nothing else used SQL
    assert await db.reachable() and not db.unreachable
    await db.aclose()
    missing = Database(f"sqlite+aiosqlite:///{tmp_path / 'no-such-dir' / 'x.db'}")
    assert not await missing.reachable() and missing.unreachable
    await missing.aclose()
    await aiosqlite_threads_done()
