"""What one watchdog scan costs and whom it sees, on SQLite and PostgreSQL with the
in-process budget store: one SQL query and one ``snapshot_many`` per page of active
sessions, every active session in every scan, and each session expired for one reason."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, update

from realtime.budgets import BudgetSnapshot, MemoryBudgetStore
from realtime.control import SessionControl
from realtime.watchdog import Watchdog, WatchdogPolicy
from storage.db import Database
from storage.models import Session
from tests.hub.started import started_session
from tests.support.sqlite_threads import aiosqlite_threads_done


class CountingBudgets(MemoryBudgetStore):
    """The in-process store, recording what each ``snapshot_many`` asked for and how
    many single snapshots were asked."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[list[str]] = []
        self.single = 0

    async def snapshot_many(self, session_ids: Sequence[str]) -> list[BudgetSnapshot | None]:
        self.asked.append(list(session_ids))
        return await super().snapshot_many(session_ids)

    async def snapshot(self, session_id: str) -> BudgetSnapshot:
        self.single += 1
        return await super().snapshot(session_id)


@dataclass
class Parts:
    db: Database
    control: SessionControl
    budgets: CountingBudgets
    warned: list[tuple[uuid.UUID, int]] = field(default_factory=list)

    def watchdog(self, now: datetime, batch: int = 200) -> Watchdog:
        async def warn(session: Session, level: int) -> None:
            self.warned.append((session.id, level))

        policy = WatchdogPolicy(batch=batch)
        return Watchdog(self.db, self.control, self.budgets, policy, warn=warn, now=lambda: now)


@pytest.fixture
async def parts(database_url: str) -> AsyncIterator[Parts]:
    db = Database(database_url)
    try:
        yield Parts(db, SessionControl(db), CountingBudgets())
    finally:
        await db.aclose()
        await aiosqlite_threads_done()


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements sent while inside, one line each, lower case."""
    sent: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: Any) -> None:
        sent.append(" ".join(statement.split()).lower())

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)


def pages(sent: list[str]) -> list[str]:
    """The scan's page queries (an expiry's own reads and writes are not counted)."""
    return [s for s in sent if s.startswith("select") and "order by sessions.id" in s]


async def test_a_scan_reads_its_page_in_one_query_and_one_snapshot_many(parts: Parts) -> None:
    sids = [await started_session(parts.db, parts.control) for _ in range(5)]
    for sid in sids[:3]:  # two have had no reply yet: no budget set up
        await parts.budgets.ensure(str(sid), 20_000, 100)
    dog = parts.watchdog(datetime.now(UTC) + timedelta(seconds=10))
    parts.budgets.single = 0  # the in-process ensure answers through snapshot
    with statements(parts.db) as sent:
        assert await dog.scan() == []
    # One statement in all (three before: overdue, idle and active sessions apart).
    assert len(sent) == 1 and pages(sent) == sent, sent
    # Every session's budget in one call (one round trip on Redis), none one by one.
    assert len(parts.budgets.asked) == 1
    assert sorted(parts.budgets.asked[0]) == sorted(str(sid) for sid in sids)
    assert parts.budgets.single == 0


async def test_a_scan_pages_through_every_active_session(parts: Parts) -> None:
    """batch=2 and 5 sessions: one scan, three pages, and every session gets its token
    check and its time warning (a limit with no order or paging checked the same 2)."""
    start = datetime.now(UTC)
    sids = [await started_session(parts.db, parts.control) for _ in range(5)]
    dog = parts.watchdog(start + timedelta(seconds=490), batch=2)  # 82% of 600 s
    with statements(parts.db) as sent:
        assert await dog.scan() == []
    assert len(pages(sent)) == 3, sent
    assert [len(asked) for asked in parts.budgets.asked] == [2, 2, 1]
    checked = [sid for asked in parts.budgets.asked for sid in asked]
    assert sorted(checked) == sorted(str(sid) for sid in sids)
    assert sorted(parts.warned) == sorted((sid, 80) for sid in sids)
    # Out of tokens, all five go in the next scan (with a page left over, now empty).
    for sid in sids:
        await parts.budgets.ensure(str(sid), 1_000, 990)
    expired = await dog.scan()
    assert sorted(expired) == sorted((sid, "tokens") for sid in sids)


async def test_each_session_expires_for_its_first_reason_only(parts: Parts) -> None:
    """Time first, then idleness, then tokens; a session due for two is expired once,
    for the first, and never has its budget read. As the SQL compared: a deadline equal
    to now is reached, and NULL times are never overdue or idle."""
    now = datetime.now(UTC) + timedelta(seconds=10)
    long_idle = now - timedelta(seconds=WatchdogPolicy().idle_seconds)
    names = ["late_and_idle", "idle", "late_and_spent", "spent", "fine", "no_times"]
    sid = {name: await started_session(parts.db, parts.control) for name in names}
    times: dict[str, dict[str, datetime | None]] = {
        "late_and_idle": {"deadline_at": now, "last_activity_at": long_idle},
        "idle": {"last_activity_at": long_idle},
        "late_and_spent": {"deadline_at": now - timedelta(seconds=1)},
        "no_times": {"deadline_at": None, "last_activity_at": None},
    }
    async with parts.db.session() as db:
        for name, values in times.items():
            await db.execute(update(Session).where(Session.id == sid[name]).values(**values))
    for name in ("late_and_spent", "spent"):
        await parts.budgets.ensure(str(sid[name]), 1_000, 990)
    expired = await parts.watchdog(now).scan()
    assert sorted(expired) == sorted(
        [
            (sid["late_and_idle"], "time"),
            (sid["late_and_spent"], "time"),
            (sid["idle"], "idle"),
            (sid["spent"], "tokens"),
        ]
    )
    for name, reason in [("late_and_idle", "time"), ("idle", "idle"), ("spent", "tokens")]:
        session = await parts.control.load(sid[name])
        assert (session.status, session.end_reason) == ("expired", reason)
    for name in ("fine", "no_times"):
        assert (await parts.control.load(sid[name])).status == "active"
    (asked,) = parts.budgets.asked
    assert sorted(asked) == sorted(str(sid[name]) for name in ("spent", "fine", "no_times"))
