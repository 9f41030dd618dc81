"""The flusher killed between its SQL commit and its trim, many times: no loss, no
duplicate row (issue 16, "Faults").

A "kill" is a ``BaseException`` raised by the durable stream's trim, after the batch's
transaction committed and before anything is trimmed: nothing of the dying flusher runs
after it (the flusher catches ``Exception`` and ``CancelledError`` only), which leaves Redis
and SQL exactly as ``kill -9`` at that instant would. A fresh :class:`Flusher` (a restarted
process) then takes over, as a real one does. Real Redis; SQLite and PostgreSQL.
(tests/integration/test_transcripts_crash.py kills a real ``vclient flusher`` process at a
random moment.)
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import AsyncIterator, Mapping

import pytest
from sqlalchemy import func, select

from realtime.backends.redis import RedisBackend
from realtime.flusher import Flusher, FlusherPolicy
from realtime.protocol import (
    MessageEvent,
    MessageRole,
    ReplyDone,
    ReplyStart,
    SequencedEvent,
    Usage,
)
from storage.db import Database
from storage.models import Message, SessionEvent
from tests.hardening.conftest import repetitions
from tests.transcripts.conftest import new_session

pytestmark = pytest.mark.redis

KILLS = repetitions(ci=200, full=5_000)


class Killed(BaseException):
    """The flusher process died here (not an ``Exception``: nothing catches it)."""


class DyingBackend(RedisBackend):
    """A Redis backend whose ``trim_durable`` kills its flusher on the ``die_at``-th call,
    after that batch's commit and before its trim."""

    die_at = 0
    trims = 0

    async def trim_durable(self, upto: Mapping[str, int]) -> None:
        self.trims += 1
        if self.trims == self.die_at:
            raise Killed
        await super().trim_durable(upto)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    try:
        yield database
    finally:
        await database.aclose()


@pytest.fixture
async def backend(redis_url: str, redis_prefix: str) -> AsyncIterator[DyingBackend]:
    made = DyingBackend(redis_url, key_prefix=redis_prefix)
    try:
        yield made
    finally:
        await made.aclose()


def some_events(rng: random.Random, turn: int) -> list[SequencedEvent]:
    """A student message, a whisper now and then, and a reply that finishes."""
    events: list[SequencedEvent] = [
        MessageEvent(
            message_id=str(uuid.uuid4()),
            role=MessageRole.STUDENT,
            text=f"say {turn}",
            client_id=f"c{turn}",
        )
    ]
    if rng.random() < 0.5:
        events.append(
            MessageEvent(message_id=str(uuid.uuid4()), role=MessageRole.WHISPER, text=f"w {turn}")
        )
    events += [
        ReplyStart(reply_id=f"r{turn}"),
        ReplyDone(
            reply_id=f"r{turn}",
            message_id=str(uuid.uuid4()),
            text=f"reply {turn}",
            usage=Usage(input_tokens=10, output_tokens=3),
        ),
    ]
    return events


async def counts(db: Database, sid: uuid.UUID) -> tuple[int, int, int, int]:
    """Message rows, distinct message seqs, whisper audit rows, distinct audit seqs."""
    async with db.session() as s:
        m = Message.session_id == sid
        e = (SessionEvent.session_id == sid) & (SessionEvent.kind == "whisper")
        return (
            (await s.execute(select(func.count()).where(m))).scalar_one(),
            (await s.execute(select(func.count(func.distinct(Message.seq))).where(m))).scalar_one(),
            (await s.execute(select(func.count()).where(e))).scalar_one(),
            (
                await s.execute(select(func.count(func.distinct(SessionEvent.seq))).where(e))
            ).scalar_one(),
        )


async def test_flusher_killed_between_commit_and_trim(
    db: Database, backend: DyingBackend, request: pytest.FixtureRequest
) -> None:
    rng = random.Random(request.node.name)  # reproducible per backend
    sid = await new_session(db)
    await backend.open_log(str(sid), 0)
    message_ids: list[str] = []
    whispers = kills = 0
    started = time.monotonic()
    for turn in range(KILLS):
        events = some_events(rng, turn)
        await backend.append(str(sid), events)
        message_ids += [e.message_id for e in events if isinstance(e, MessageEvent | ReplyDone)]
        whispers += sum(
            isinstance(e, MessageEvent) and e.role == MessageRole.WHISPER for e in events
        )
        # A new flusher process with a random batch size, killed at its first or a later
        # trim, or living through the round.
        flusher = Flusher(db, backend, FlusherPolicy(batch_events=rng.randint(1, 4)))
        backend.trims, backend.die_at = 0, rng.choice([1, 1, 2, 3, 0])
        waiting_before = len(await backend.read_durable(str(sid), 0, 10_000))
        try:
            await flusher.flush_session(sid)
        except Killed:
            kills += 1
            # It died after a commit: SQL holds more than the stream says was acknowledged.
            waiting = len(await backend.read_durable(str(sid), 0, 10_000))
            assert waiting > 0 and waiting <= waiting_before
    await Flusher(db, backend).flush_session(sid)  # the last restart drains the rest
    elapsed = time.monotonic() - started
    total = len(message_ids)
    assert await counts(db, sid) == (total, total, whispers, whispers)
    async with db.session() as s:
        stored_ids = set(
            (await s.execute(select(Message.id).where(Message.session_id == sid))).scalars()
        )
    assert {str(i) for i in stored_ids} == set(message_ids)
    assert await backend.read_durable(str(sid), 0, 10) == []
    assert kills >= KILLS // 2
    print(
        f"HARDENING faults: flusher killed between commit and trim {kills} times"
        f" ({request.node.callspec.id}): {total} rows, 0 lost, 0 duplicated,"
        f" {elapsed:.1f} s"
    )
