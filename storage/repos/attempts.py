"""Attempts: the sessions of one series (a first session and its restarts).

A series is named by its first attempt's id (``root``): the first attempt has
``attempt_of`` None and ``attempt`` 1; attempt n has ``attempt_of`` = root and
``attempt`` = n. Every query here takes ``owner_id`` or a root the caller already
authorised, so a series never leaks into another teacher's."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ApiUsage, Evaluation, Message, Session
from storage.repos import sessions as session_repo

#: What a new attempt copies from the attempt it follows (everything else starts fresh:
#: status, clock, budget used, end reason, timestamps).
COPIED_FIELDS = (
    "profile_id",
    "rubric_id",
    "student_name",
    "student_email",
    "time_limit_seconds",
    "token_budget",
    "model",
    "instructions",
    "student_may_restart",
    "join_nonce",
)


def root_of(session: Session) -> uuid.UUID:
    """The id naming ``session``'s series: its first attempt's."""
    return session.attempt_of or session.id


async def series(db: AsyncSession, root: uuid.UUID) -> list[Session]:
    """Every attempt of the series ``root`` names, first attempt first."""
    query = (
        select(Session)
        .where(or_(Session.id == root, Session.attempt_of == root))
        .order_by(Session.attempt, Session.created_at)
        .execution_options(populate_existing=True)
    )
    return list((await db.execute(query)).scalars())


async def latest_ids(db: AsyncSession, sessions: Sequence[Session]) -> dict[uuid.UUID, uuid.UUID]:
    """For each session given, the id of its series' latest attempt (itself when none
    followed it). One query for the whole page: a series holds at most a few attempts."""
    roots = {root_of(session) for session in sessions}
    latest: dict[uuid.UUID, tuple[int, uuid.UUID]] = {}
    if roots:
        query = select(Session.id, Session.attempt_of, Session.attempt).where(
            Session.attempt_of.in_(list(roots))
        )
        for session_id, root, attempt in (await db.execute(query)).all():
            assert root is not None  # the query's own filter
            if root not in latest or attempt > latest[root][0]:
                latest[root] = (attempt, session_id)
    return {
        session.id: latest.get(root_of(session), (1, root_of(session)))[1] for session in sessions
    }


async def create_next(db: AsyncSession, current: Session, **fresh: Any) -> Session:
    """The attempt after ``current`` (which must be its series' latest), in the caller's
    transaction. ``current``'s version is bumped in the same transaction, so of two
    racing restarts of one attempt exactly one commits a new attempt: the other's
    version check fails (PostgreSQL re-checks it once the winner's row lock is released;
    SQLite runs one writer at a time). ``fresh`` overrides start values (status...).

    Raises :class:`Conflict` when ``current`` changed since it was read."""
    await session_repo.update_if_version(db, current.id, current.version, {})
    copied = {name: getattr(current, name) for name in COPIED_FIELDS}
    return await session_repo.create_session(
        db,
        current.owner_id,
        attempt_of=root_of(current),
        attempt=current.attempt + 1,
        **copied,
        **fresh,
    )


@dataclass(slots=True)
class AttemptUsage:
    """The provider calls made for one attempt. ``cost_micros`` is per currency and
    covers only priced calls; ``unpriced_calls`` counts the others (unknown, not free)."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_micros: dict[str, int] = field(default_factory=dict)
    unpriced_calls: int = 0


@dataclass(frozen=True, slots=True)
class AttemptFacts:
    """What the attempts list shows of each attempt beside its session row."""

    messages: int
    evaluation_status: str | None
    released: bool
    usage: AttemptUsage


async def facts(
    db: AsyncSession, session_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, AttemptFacts]:
    """Message count, evaluation status and provider usage of each session: three grouped
    queries, whatever the number of attempts."""
    ids = list(session_ids)
    if not ids:
        return {}
    counts = dict(
        (
            await db.execute(
                select(Message.session_id, func.count(Message.id))
                .where(Message.session_id.in_(ids))
                .group_by(Message.session_id)
            )
        ).all()
    )
    evaluations = {
        row[0]: (row[1], row[2] is not None)
        for row in (
            await db.execute(
                select(Evaluation.session_id, Evaluation.status, Evaluation.released_at).where(
                    Evaluation.session_id.in_(ids)
                )
            )
        ).all()
    }
    usage: dict[uuid.UUID, AttemptUsage] = {session_id: AttemptUsage() for session_id in ids}
    calls = await db.execute(
        select(
            ApiUsage.session_id,
            ApiUsage.currency,
            func.count(ApiUsage.id),
            func.coalesce(func.sum(ApiUsage.input_tokens), 0),
            func.coalesce(func.sum(ApiUsage.output_tokens), 0),
            func.sum(ApiUsage.cost_micros),
            func.count(ApiUsage.cost_micros),
        )
        .where(ApiUsage.session_id.in_(ids))
        .group_by(ApiUsage.session_id, ApiUsage.currency)
    )
    for session_id, currency, n, inp, out, micros, priced in calls.all():
        assert session_id is not None  # the query's own filter
        row = usage[session_id]
        row.calls += int(n)
        row.input_tokens += int(inp)
        row.output_tokens += int(out)
        row.unpriced_calls += int(n) - int(priced)
        if micros is not None:
            row.cost_micros[currency] = row.cost_micros.get(currency, 0) + int(micros)
    return {
        session_id: AttemptFacts(
            messages=int(counts.get(session_id, 0)),
            evaluation_status=evaluations.get(session_id, (None, False))[0],
            released=evaluations.get(session_id, (None, False))[1],
            usage=usage[session_id],
        )
        for session_id in ids
    }


__all__ = [
    "COPIED_FIELDS",
    "AttemptFacts",
    "AttemptUsage",
    "create_next",
    "facts",
    "latest_ids",
    "root_of",
    "series",
]
