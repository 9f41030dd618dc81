"""Contract: what a worker remembers of a session's log between says (RecentLog) always
equals a fresh read, on every backend: after appends, past the live window, after the
log was lost and reopened."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from realtime.backends.base import READ_BATCH
from realtime.eventlog import LogInfo
from realtime.events import (
    MessageEvent,
    ReplyDelta,
    ReplyDone,
    ReplyStart,
    SequencedEvent,
    Usage,
)
from realtime.recentlog import RecentLog
from realtime.sessionlog import SessionLog
from realtime.sessionview import SessionView
from realtime.vocabulary import MessageRole
from storage.db import Database
from tests.realtime.contract.rt_helpers import Workers
from tests.support.databases import sqlite_at_head

pytestmark = pytest.mark.redis


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    url = sqlite_at_head(tmp_path / "recent.db")
    database = Database(url)
    yield database
    await database.aclose()


def _turn(rng: random.Random, n: int) -> list[SequencedEvent]:
    """A say and its streamed reply, sometimes left open (a reply still streaming)."""
    reply = f"r{n}"
    events: list[SequencedEvent] = [
        MessageEvent(
            message_id=f"m{n}", role=MessageRole.STUDENT, text=f"say {n}", client_id=f"c{n}"
        ),
        ReplyStart(reply_id=reply),
    ]
    words = [f"w{n}.{i} " for i in range(rng.randint(1, 6))]
    events += [ReplyDelta(reply_id=reply, text=w) for w in words]
    if rng.random() < 0.8:
        done = ReplyDone(
            reply_id=reply,
            message_id=f"a{n}",
            text="".join(words),
            usage=Usage(input_tokens=9, output_tokens=len(words)),
        )
        events.append(done)
    return events


async def _fresh(log: SessionLog, sid: uuid.UUID) -> tuple[SessionView, list[MessageEvent]]:
    _, view = await log.view(sid)
    return view, await log.messages(sid)


async def test_catching_up_equals_a_fresh_read_after_every_append(
    workers: Workers, db: Database
) -> None:
    rng = random.Random(7)
    log = SessionLog(workers.make(), db)
    recent, sid = RecentLog(log), uuid.uuid4()
    await log.ensure(sid)
    reads = 0
    for n in range(12):  # ~100 events: under RECENT_EVENTS, so a fresh fold is the whole log
        await log.publish(sid, _turn(rng, n))
        got = await recent.catch_up(sid)
        view, messages = await _fresh(log, sid)
        assert got.view == view
        assert list(got.messages) == messages
        assert got.info.last_seq == view.last_seq
        reads += 1
    assert reads == 12 and len(got.messages) >= 12


async def test_past_the_live_window_it_rebuilds_from_what_is_kept(
    workers: Workers, db: Database
) -> None:
    log = SessionLog(workers.make(window=20), db)
    recent, sid = RecentLog(log), uuid.uuid4()
    await log.ensure(sid)
    await log.publish(sid, _turn(random.Random(1), 0))
    first = await recent.catch_up(sid)
    # 300 more events: the window (20; Redis trims whole 100-entry nodes, so "about
    # 20") no longer holds the events after the memo.
    for n in range(1, 31):
        await log.publish(
            sid, _turn(random.Random(n), n)[:2] + [ReplyDelta(reply_id="x", text="y")] * 8
        )
    info = await log.ensure(sid)
    assert info.first_seq > first.info.last_seq + 1
    got = await recent.catch_up(sid)
    assert list(got.messages) == await log.messages(sid)
    assert [m.text for m in got.messages if m.role is MessageRole.STUDENT] == [
        f"say {n}" for n in range(31)
    ]
    assert got.info.last_seq == info.last_seq


async def test_a_lost_and_reopened_log_is_read_again(workers: Workers, db: Database) -> None:
    backend = workers.make()
    log = SessionLog(backend, db)
    recent, sid = RecentLog(log), uuid.uuid4()
    await log.ensure(sid)
    await log.publish(sid, _turn(random.Random(2), 0))
    before = await recent.catch_up(sid)
    assert before.messages
    await backend.expire_session_keys(str(sid), 0)  # as if Redis lost it (nothing flushed)
    after = await recent.catch_up(sid)
    assert after.info.epoch != before.info.epoch
    assert list(after.messages) == await log.messages(sid) == []
    await log.publish(sid, _turn(random.Random(3), 1))
    again = await recent.catch_up(sid)
    assert [m.text for m in again.messages][:1] == ["say 1"]


class _Reads:
    """A catch-up's read, through the backend, noting where each started."""

    def __init__(self, log: SessionLog, sid: uuid.UUID) -> None:
        self._log, self._sid, self.afters = log, sid, list[int]()

    async def __call__(self, after: int) -> tuple[LogInfo, list[SequencedEvent]] | None:
        self.afters.append(after)
        return await self._log.backend.log_since(str(self._sid), after, READ_BATCH)


async def test_what_this_worker_published_is_not_read_back(workers: Workers, db: Database) -> None:
    """A say's catch-up folds in the reply this worker appended itself and reads only
    after it; an append from elsewhere (the backend's own, not this SessionLog's) ends
    the run kept, and the read starts at it."""
    log = SessionLog(workers.make(), db)
    recent, sid = RecentLog(log), uuid.uuid4()
    await log.ensure(sid)
    reads = _Reads(log, sid)
    await recent.catch_up(sid)
    (*_, last) = await log.publish(sid, _turn(random.Random(4), 0))
    got = await recent.catch_up(sid, reads)
    assert reads.afters == [last]
    view, messages = await _fresh(log, sid)
    assert (got.view, list(got.messages), got.info.last_seq) == (view, messages, last)

    (*_, mine) = await log.publish(sid, _turn(random.Random(5), 1))
    await log.backend.append(str(sid), _turn(random.Random(6), 2))  # another worker's
    await log.publish(sid, _turn(random.Random(7), 3))
    got = await recent.catch_up(sid, reads)
    assert reads.afters[-1] == mine
    view, messages = await _fresh(log, sid)
    assert (got.view, list(got.messages)) == (view, messages)
    assert [m.text for m in got.messages if m.role is MessageRole.STUDENT] == [
        f"say {n}" for n in range(4)
    ]


async def test_catching_up_equals_a_fresh_read_whoever_appended(
    workers: Workers, db: Database
) -> None:
    """Turns published here and appended elsewhere, in any order, with catch-ups and
    forgetting between them: every catch-up equals a fresh read."""
    rng = random.Random(11)
    log = SessionLog(workers.make(), db)
    recent, sid = RecentLog(log), uuid.uuid4()
    await log.ensure(sid)
    for n in range(40):  # ~300 events: a fresh fold of the whole log stays exact
        turn = _turn(rng, n)
        step = rng.random()
        if step < 0.5:
            await log.publish(sid, turn)
        elif step < 0.75:
            await log.backend.append(str(sid), turn)
        elif step < 0.8:
            recent.forget(sid)
        if rng.random() < 0.4:
            got = await recent.catch_up(sid)
            view, messages = await _fresh(log, sid)
            assert (got.view, list(got.messages)) == (view, messages), n


async def test_catching_up_equals_a_fresh_read_as_replies_stream(
    workers: Workers, db: Database
) -> None:
    """Published as a reply is: the say and the reply's start together, each delta on
    its own, the end with what follows it; catch-ups at any point, a reply's middle
    included, and now and then another worker's append: every one equals a fresh read."""
    rng = random.Random(23)
    log = SessionLog(workers.make(), db)
    recent, sid = RecentLog(log), uuid.uuid4()
    await log.ensure(sid)
    caught_mid_reply = 0
    for n in range(30):
        turn = _turn(rng, n)
        deltas = [event for event in turn[2:] if isinstance(event, ReplyDelta)]
        batches: list[list[SequencedEvent]] = [turn[:2]]
        batches += [[delta] for delta in deltas]
        if isinstance(turn[-1], ReplyDone):
            batches.append([turn[-1]])
        for index, batch in enumerate(batches):
            if rng.random() < 0.05:
                await log.backend.append(str(sid), _turn(rng, 100 + n))  # another worker's
            await log.publish(sid, batch)
            if rng.random() < 0.3:
                got = await recent.catch_up(sid)
                view, messages = await _fresh(log, sid)
                assert (got.view, list(got.messages)) == (view, messages), (n, index)
                caught_mid_reply += got.view.streaming is not None
    assert caught_mid_reply > 5
