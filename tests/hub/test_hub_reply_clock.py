"""The time left that a reply's budget tick reports: by the clock its say read (no SQL
read at the reply's end) unless the reply was stopped, when a pause or the end may have
moved the clock and the row is read again. Real parts in one process (the hub rig)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import event

from realtime.control import utcnow
from realtime.events import BudgetEvent, ReplyDone, ReplyError
from realtime.lifecycle import SessionAction
from realtime.protocol import SequencedEvent
from tests.hub.rig import Rig, new_session
from tests.hub.test_hub_ending_races import during_reservation


async def the_reply_tick(rig: Rig, sid: uuid.UUID, after: int) -> tuple[SequencedEvent, float]:
    """The say's reply's end and the ``seconds_left`` of the budget tick logged with it."""
    end: SequencedEvent | None = None
    async with asyncio.timeout(5), rig.log.subscribe(sid, after) as events:
        async for logged in events:
            if isinstance(logged, ReplyDone | ReplyError):
                end = logged
            elif end is not None and isinstance(logged, BudgetEvent):
                assert logged.seconds_left is not None
                return end, logged.seconds_left
    raise AssertionError("the log ended before the reply's budget tick")


class SessionReads:
    """The ``SELECT … FROM sessions`` statements run while it listens."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, _conn: object, _cursor: object, statement: str, *_: object) -> None:
        flat = " ".join(statement.split()).lower()
        if flat.startswith("select") and " from sessions" in flat:
            self.statements.append(flat)


@pytest.fixture
def session_reads(rig: Rig) -> Iterator[SessionReads]:
    reads = SessionReads()
    event.listen(rig.db.engine.sync_engine, "before_cursor_execute", reads)
    yield reads
    event.remove(rig.db.engine.sync_engine, "before_cursor_execute", reads)


async def test_a_reply_reports_the_time_left_by_its_says_clock_without_reading_the_row(
    rig: Rig, session_reads: SessionReads
) -> None:
    sid = await new_session(rig)
    after = (await rig.log.ensure(sid)).last_seq
    assert await rig.hub.say(sid, "Hello, how are you today?", "c1") is None
    await the_reply_tick(rig, sid, after)  # the first say reads the row: the worker's copy
    session_reads.statements.clear()
    after = (await rig.log.ensure(sid)).last_seq
    assert await rig.hub.say(sid, "What brings you in?", "c2") is None
    end, left = await the_reply_tick(rig, sid, after)
    assert isinstance(end, ReplyDone) and not end.stopped
    assert session_reads.statements == []
    # The same figure the row gives a moment later (the clock runs: at most a second).
    by_row = rig.control.seconds_left(await rig.control.load(sid))
    assert by_row <= left <= by_row + 1.0


async def test_a_reply_stopped_by_a_pause_reports_the_paused_clock_from_the_row(
    monkeypatch: pytest.MonkeyPatch, rig: Rig, session_reads: SessionReads
) -> None:
    sid = await new_session(rig)
    after = (await rig.log.ensure(sid)).last_seq

    async def pause() -> None:
        await rig.control.transition(sid, SessionAction.PAUSE, actor="t")
        session_reads.statements.clear()
        # A minute passes once paused: a running clock would count it, the paused one not.
        later = utcnow() + timedelta(seconds=60)
        monkeypatch.setattr(rig.control, "_now", lambda: later)

    during_reservation(monkeypatch, rig, pause)
    assert await rig.hub.say(sid, "Can you tell me about your week?", "c1") is None
    end, left = await the_reply_tick(rig, sid, after)
    assert isinstance(end, ReplyDone) and end.stopped
    assert session_reads.statements  # the row, read again for the stopped reply
    # Paused, the clock stands still: the row gives the figure it gave at the pause.
    paused = await rig.control.load(sid)
    assert left == rig.control.seconds_left(paused) > 500
