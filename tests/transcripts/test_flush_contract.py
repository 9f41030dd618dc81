"""flush_session against each backend (memory, real Redis) and each database (SQLite,
real PostgreSQL): rows and flags, idempotent replay, concurrent flushers, the end hooks."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.engine.interfaces import CacheStats

from realtime.backends import MemoryBackend, RealtimeBackend
from realtime.control import SessionControl
from realtime.flusher import Flusher, FlusherPolicy
from realtime.lifecycle import SessionAction
from realtime.protocol import (
    BudgetEvent,
    MessageEvent,
    MessageRole,
    ReplyDelta,
    ReplyDone,
    ReplyError,
    ReplyStart,
    ReplyStop,
    Role,
    SequencedEvent,
    Usage,
)
from storage.db import Database
from storage.models import Message, SessionEvent
from tests.transcripts.conftest import CountingReads, new_session, publish, stored


def conversation() -> list[SequencedEvent]:
    """A turn that finished, one that was stopped, one that failed with partial text,
    one that failed with none, a whisper and a budget warning."""
    events: list[Any] = [
        MessageEvent(
            message_id=str(uuid.uuid4()), role=MessageRole.STUDENT, text="Hi", client_id="c1"
        ),
        ReplyStart(reply_id="r1"),
        ReplyDelta(reply_id="r1", text="Hello"),
        ReplyDone(
            reply_id="r1",
            message_id=str(uuid.uuid4()),
            text="Hello",
            usage=Usage(input_tokens=50, output_tokens=2),
        ),
        BudgetEvent(tokens_used=52, token_budget=20_000, seconds_left=590),
        MessageEvent(
            message_id=str(uuid.uuid4()), role=MessageRole.STUDENT, text="And?", client_id="c2"
        ),
        ReplyStart(reply_id="r2"),
        ReplyDelta(reply_id="r2", text="Well, I"),
        ReplyStop(reply_id="r2", by=Role.STUDENT),
        ReplyDone(
            reply_id="r2",
            message_id=str(uuid.uuid4()),
            text="Well, I",
            usage=Usage(input_tokens=60, output_tokens=3),
            stopped=True,
        ),
        MessageEvent(message_id=str(uuid.uuid4()), role=MessageRole.WHISPER, text="Be patient"),
        MessageEvent(
            message_id=str(uuid.uuid4()), role=MessageRole.STUDENT, text="Go on", client_id="c3"
        ),
        ReplyStart(reply_id="r3"),
        ReplyError(
            reply_id="r3",
            code="interrupted",
            message="cut",
            message_id=str(uuid.uuid4()),
            text="Partial answ",
        ),
        MessageEvent(
            message_id=str(uuid.uuid4()), role=MessageRole.STUDENT, text="Hello?", client_id="c4"
        ),
        ReplyStart(reply_id="r4"),
        ReplyError(reply_id="r4", code="unavailable", message="down", message_id=None, text=""),
        BudgetEvent(
            tokens_used=16_100,
            token_budget=20_000,
            seconds_left=500,
            warning="tokens_low",
            percent=80,
        ),
    ]
    return events


async def test_rows_and_flags(db: Database, backend: RealtimeBackend) -> None:
    sid = await new_session(db)
    seqs = await publish(backend, sid, conversation())
    flushed = await Flusher(db, backend).flush_session(sid)
    assert flushed == 15  # 18 events: two deltas and a plain budget tick are live-only
    assert await backend.read_durable(str(sid), 0, 100) == []
    messages, audits = await stored(db, sid)
    summary = [(m.role, m.text, m.stopped, m.failed) for m in messages]
    assert summary == [
        ("student", "Hi", False, False),
        ("client", "Hello", False, False),
        ("student", "And?", False, False),
        ("client", "Well, I", True, False),
        ("whisper", "Be patient", False, False),
        ("student", "Go on", False, False),
        ("client", "Partial answ", False, True),
        ("student", "Hello?", False, False),
    ]
    assert messages[0].client_id == "c1" and messages[0].seq == seqs[0]
    assert (messages[1].input_tokens, messages[1].output_tokens) == (50, 2)
    assert [a.kind for a in audits] == [
        "reply_stopped",
        "whisper",
        "reply_failed",
        "reply_failed",
        "budget_warning",
    ]
    assert audits[0].data == {"reply_id": "r2", "by": "student"}
    assert audits[-1].data["percent"] == 80


@dataclass
class CrashBeforeTrim:
    """A backend whose trims are lost, as when a flusher dies between commit and trim."""

    inner: RealtimeBackend

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def trim_durable(self, upto: Mapping[str, int]) -> None:
        return None


async def count_rows(db: Database, sid: uuid.UUID) -> tuple[int, int]:
    async with db.session() as s:
        messages = await s.scalar(select(func.count()).where(Message.session_id == sid))
        events = await s.scalar(select(func.count()).where(SessionEvent.session_id == sid))
    return int(messages or 0), int(events or 0)


async def test_replaying_a_committed_batch_stores_nothing_twice(
    db: Database, backend: RealtimeBackend
) -> None:
    sid = await new_session(db)
    await publish(backend, sid, conversation())
    crashed = Flusher(db, CrashBeforeTrim(backend))
    await crashed.flush_session(sid)
    await crashed.flush_session(sid)
    first = await count_rows(db, sid)
    assert len(await backend.read_durable(str(sid), 0, 100)) == 15  # nothing acknowledged
    await Flusher(db, backend).flush_session(sid)  # the takeover replays all of it
    assert await count_rows(db, sid) == first == (8, 5)
    assert await backend.read_durable(str(sid), 0, 100) == []


async def test_concurrent_flushers_in_small_batches(db: Database, backend: RealtimeBackend) -> None:
    sid = await new_session(db)
    whispers = [
        MessageEvent(message_id=str(uuid.uuid4()), role=MessageRole.WHISPER, text=f"w{n}")
        for n in range(300)
    ]
    await publish(backend, sid, whispers)
    policy = FlusherPolicy(batch_events=25)
    flushers = [Flusher(db, backend, policy) for _ in range(3)]
    await asyncio.gather(*(f.flush_session(sid) for f in flushers))
    assert await count_rows(db, sid) == (300, 300)
    assert await backend.read_durable(str(sid), 0, 10) == []
    messages, _ = await stored(db, sid)
    assert [m.text for m in messages] == [f"w{n}" for n in range(300)]


async def test_end_flushes_first_then_lets_live_keys_expire(
    db: Database, backend: RealtimeBackend
) -> None:
    sid = await new_session(db)
    control = SessionControl(db)
    seen_at_end: list[tuple[int, int]] = []

    async def after_flush(session_id: uuid.UUID) -> None:
        seen_at_end.append(await count_rows(db, session_id))

    flusher = Flusher(db, backend, FlusherPolicy(live_keys_after_end_seconds=60))
    control.before_terminal += [flusher.flush_before_end, after_flush]
    control.after_transition.append(flusher.after_transition)
    await publish(backend, sid, conversation())
    await control.transition(sid, SessionAction.END, actor="teacher:x", reason="teacher")
    assert seen_at_end == [(8, 5)]  # everything was in SQL before the status changed
    if not isinstance(backend, MemoryBackend):
        from realtime.backends.redis import RedisBackend

        assert isinstance(backend, RedisBackend)
        ttl = await backend._redis.pttl(backend._key(str(sid), "meta"))
        assert 0 < ttl <= 60_000


async def test_scan_finds_sessions_and_reports_no_lag_after(
    db: Database, backend: RealtimeBackend
) -> None:
    sids = [await new_session(db) for _ in range(3)]
    for sid in sids:
        await publish(backend, sid, conversation())
    flusher = Flusher(db, backend, FlusherPolicy(sessions_per_scan=2))
    total = await flusher.scan() + await flusher.scan()  # two pages of sessions
    assert total == 45
    assert flusher.lag()["unflushed_events"] == 0 and flusher.lag()["status"] == "ok"


async def test_a_scan_stores_what_it_finds_in_many_sessions_together(
    db: Database, backend: RealtimeBackend
) -> None:
    """Six sessions with waiting events: one transaction per ``batch_events`` events, not
    one per session; a session with more than a round's worth goes on in its own rounds."""
    sids = [await new_session(db) for _ in range(6)]
    for sid in sids:
        await publish(backend, sid, conversation())  # 15 durable events each
    busy = await new_session(db)
    await publish(backend, busy, [*conversation(), *conversation(), *conversation()])
    inserts: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().lower().startswith("insert into messages"):
            inserts.append(statement)

    flusher = Flusher(db, backend, FlusherPolicy(batch_events=40))
    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        assert await flusher.scan() == 6 * 15 + 45
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    # Sessions come in id order; however the busy one falls among them, 130 events go in
    # three groups of up to 40 and more (one session at a time: seven), and the busy
    # session's last 5 in a round of its own.
    assert len(inserts) == 4, inserts
    for sid in [*sids, busy]:
        assert await backend.read_durable(str(sid), 0, 100) == []
    messages = [len((await stored(db, sid))[0]) for sid in sids]
    assert messages == [messages[0]] * 6 and messages[0] > 0
    assert len((await stored(db, busy))[0]) == 3 * messages[0]
    assert flusher.lag()["unflushed_events"] == 0


async def test_a_scan_reads_what_waits_in_all_sessions_in_one_call(
    db: Database, backend: RealtimeBackend
) -> None:
    """25 sessions, three with events waiting: the scan's first look at all of them is
    one ``read_durable_many`` (one round trip on a Redis), never a read per session; an
    idle scan too. Past ``sessions_per_look`` the look takes a call per that many."""
    sids = [await new_session(db) for _ in range(25)]
    for sid in sids[:3]:
        await publish(backend, sid, conversation())
    reads = CountingReads(backend)
    flusher = Flusher(db, reads)
    assert await flusher.scan() == 3 * 15
    assert await flusher.scan() == 0
    everyone = sorted(str(sid) for sid in sids)
    assert (reads.many, reads.single) == ([everyone, everyone], [])
    assert flusher.lag()["sessions_waiting"] == 0

    reads.many.clear()
    await Flusher(db, reads, FlusherPolicy(sessions_per_look=10)).scan()
    assert [len(looked) for looked in reads.many] == [10, 10, 5] and reads.single == []


async def test_batches_of_every_size_insert_with_one_statement_compiled_once(
    db: Database, backend: RealtimeBackend
) -> None:
    """The rows are an executemany's parameters, not the statement's VALUES: after the
    first batch, every insert (of however many rows) is SQLAlchemy's cached statement
    (a VALUES list was compiled anew for every batch: ~2.5 ms of CPU a flush)."""
    hits: dict[str, list[bool]] = {}

    def note(
        _conn: object, _cursor: object, statement: str, _p: object, context: Any, *_: object
    ) -> None:
        words = statement.split()
        if words[:2] == ["INSERT", "INTO"]:
            hits.setdefault(words[2], []).append(context.cache_hit is CacheStats.CACHE_HIT)

    flusher = Flusher(db, backend, FlusherPolicy(list_seconds=0))  # a new session each scan
    event.listen(db.engine.sync_engine, "before_cursor_execute", note)
    try:
        for turns in (1, 3, 2):  # batches of different sizes, one scan each
            sid = await new_session(db)
            await publish(backend, sid, conversation()[: 4 * turns])
            assert await flusher.scan() > 0
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", note)
    assert hits["messages"][1:] == [True, True], hits
    assert all(hits["session_events"][1:]), hits
    assert len((await stored(db, sid))[0]) == 3  # its 8 events: two says and a reply
