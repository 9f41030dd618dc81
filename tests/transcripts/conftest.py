"""Fixtures of the flush suites: each test runs on SQLite and PostgreSQL, and on the
in-process and Redis backends."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from realtime.backends import MemoryBackend, RealtimeBackend
from realtime.protocol import SequencedEvent
from storage.db import Database
from storage.models import ClientProfile, Message, Rubric, Session, SessionEvent, User
from storage.repos import sessions as session_repo
from storage.repos import transcripts as transcript_repo


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    try:
        yield database
    finally:
        await database.aclose()


@pytest.fixture(params=["memory", "redis"])
def backend_spec(request: pytest.FixtureRequest) -> tuple[str, str]:
    if request.param == "redis":
        return request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
    return "", ""


@pytest.fixture
async def backend(backend_spec: tuple[str, str]) -> AsyncIterator[RealtimeBackend]:
    made: RealtimeBackend = MemoryBackend()
    if backend_spec[0]:
        from realtime.backends.redis import RedisBackend

        made = RedisBackend(backend_spec[0], key_prefix=backend_spec[1])
    try:
        yield made
    finally:
        await made.aclose()


async def new_session(db: Database) -> uuid.UUID:
    async with db.session() as s:
        user = User(email=f"{uuid.uuid4().hex}@x.org", name="T", role="teacher", password_hash="x")
        s.add(user)
        await s.flush()
        profile = ClientProfile(owner_id=user.id, name="Sam")
        rubric = Rubric(owner_id=user.id, name="R")
        s.add_all([profile, rubric])
        await s.flush()
        session = Session(
            owner_id=user.id,
            profile_id=profile.id,
            rubric_id=rubric.id,
            student_name="Kim",
            time_limit_seconds=600,
            token_budget=20_000,
            join_nonce="n",
            status="active",
        )
        s.add(session)
        await s.flush()
        return session.id


async def publish(
    backend: RealtimeBackend, sid: uuid.UUID, events: Sequence[SequencedEvent]
) -> list[int]:
    await backend.open_log(str(sid), 0)
    return await backend.append(str(sid), events)


async def stored(db: Database, sid: uuid.UUID) -> tuple[list[Message], list[SessionEvent]]:
    async with db.session() as s:
        messages = await transcript_repo.list_messages(s, sid)
        events = [e for e in await session_repo.list_events(s, sid) if e.seq is not None]
    return messages, sorted(events, key=lambda e: e.seq or 0)


@dataclass
class CountingReads:
    """A real backend whose durable reads are counted: the sessions of each
    ``read_durable_many`` call, and the sessions read one at a time."""

    inner: RealtimeBackend
    many: list[list[str]] = field(default_factory=list)
    single: list[str] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def read_durable(self, session_id: str, after: int, limit: int) -> list[SequencedEvent]:
        self.single.append(session_id)
        return await self.inner.read_durable(session_id, after, limit)

    async def read_durable_many(
        self, session_ids: Sequence[str], limit: int
    ) -> list[list[SequencedEvent]]:
        self.many.append(list(session_ids))
        return await self.inner.read_durable_many(session_ids, limit)
