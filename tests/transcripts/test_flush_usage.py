"""A reply's usage reaches SQL through the log (issue 12): the flusher stores each
``reply.usage`` as an ``api_usage`` row and raises the session's token count, in the
transaction that stores the reply, once however often the batch is replayed. Against each
backend (memory, real Redis) and each database (SQLite, real PostgreSQL)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from realtime.backends import RealtimeBackend
from realtime.flusher import Flusher
from realtime.protocol import MessageEvent, MessageRole, ReplyDone, SequencedEvent, Usage
from realtime.usage_events import CallUsage, ReplyUsage
from storage.db import Database
from storage.models import ApiUsage, Session
from tests.transcripts.conftest import new_session, publish
from tests.transcripts.test_flush_contract import CrashBeforeTrim


def call(input_tokens: int, output_tokens: int, cost: int | None) -> CallUsage:
    return CallUsage(
        provider="openai",
        model="gpt-test",
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        time_to_first_token_ms=120,
        duration_ms=900,
        outcome="ok",
        model_id="fast",
        cost_micros=cost,
        currency="EUR",
    )


def turn(owner: uuid.UUID, reply_id: str, used: int, metered: CallUsage | None) -> list[Any]:
    return [
        MessageEvent(message_id=str(uuid.uuid4()), role=MessageRole.STUDENT, text="Hi"),
        ReplyDone(
            reply_id=reply_id,
            message_id=str(uuid.uuid4()),
            text="Hello",
            usage=Usage(input_tokens=40, output_tokens=2),
        ),
        ReplyUsage(reply_id=reply_id, owner_id=owner, tokens_used=used, call=metered),
    ]


async def owner_of(db: Database, sid: uuid.UUID) -> uuid.UUID:
    async with db.session() as s:
        session = await s.get(Session, sid)
        assert session is not None
        return session.owner_id


async def usage(db: Database, sid: uuid.UUID) -> tuple[list[ApiUsage], int]:
    async with db.session() as s:
        query = select(ApiUsage).where(ApiUsage.session_id == sid).order_by(ApiUsage.seq)
        rows = list((await s.execute(query)).scalars())
        session = await s.get(Session, sid)
        assert session is not None
        return rows, session.tokens_used


async def test_usage_rows_and_the_token_count_once_per_replayed_batch(
    db: Database, backend: RealtimeBackend
) -> None:
    sid = await new_session(db)
    owner = await owner_of(db, sid)
    events: list[SequencedEvent] = [
        *turn(owner, "r1", 42, call(40, 2, 310)),
        *turn(owner, "r2", 90, None),  # unmetered: the count rises, no row
        *turn(owner, "r3", 135, call(43, 2, None)),  # unpriced: a row, its cost unknown
    ]
    seqs = await publish(backend, sid, events)
    crashed = Flusher(db, CrashBeforeTrim(backend))
    await crashed.flush_session(sid)
    await crashed.flush_session(sid)
    await Flusher(db, backend).flush_session(sid)  # the takeover replays all of it

    rows, tokens_used = await usage(db, sid)
    assert tokens_used == 135
    assert [(r.seq, r.owner_id, r.input_tokens, r.output_tokens) for r in rows] == [
        (seqs[2], owner, 40, 2),
        (seqs[8], owner, 43, 2),
    ]
    first = rows[0]
    assert (first.provider, first.model, first.model_id) == ("openai", "gpt-test", "fast")
    assert (first.cost_micros, first.currency, first.outcome) == (310, "EUR", "ok")
    assert (first.time_to_first_token_ms, first.duration_ms) == (120, 900)
    assert rows[1].cost_micros is None
    assert await backend.read_durable(str(sid), 0, 100) == []


async def test_a_late_batch_never_lowers_the_token_count(
    db: Database, backend: RealtimeBackend
) -> None:
    """Two flushers race; the one holding an older batch commits last."""
    sid = await new_session(db)
    owner = await owner_of(db, sid)
    await publish(backend, sid, turn(owner, "r1", 500, call(450, 50, 7)))
    async with db.session() as s:
        session = await s.get(Session, sid)
        assert session is not None
        session.tokens_used = 900  # a later reply's batch was stored first
    await Flusher(db, backend).flush_session(sid)
    rows, tokens_used = await usage(db, sid)
    assert tokens_used == 900 and len(rows) == 1


async def test_sessions_flushed_together_keep_their_own_usage(
    db: Database, backend: RealtimeBackend
) -> None:
    sids = [await new_session(db) for _ in range(3)]
    for n, sid in enumerate(sids, start=1):
        await publish(backend, sid, turn(await owner_of(db, sid), "r", 100 * n, call(n, n, n)))
    flusher = Flusher(db, backend)
    await flusher.scan()  # one transaction for the three (and any other live session)
    for n, sid in enumerate(sids, start=1):
        rows, tokens_used = await usage(db, sid)
        assert tokens_used == 100 * n
        assert [(r.input_tokens, r.cost_micros) for r in rows] == [(n, n)]
