"""Evaluations: the per-session row, the job queue over it, and the teacher's reads.

Claims are optimistic: a candidate row is read, then taken with ``UPDATE ... WHERE id =
:id AND version = :read`` that bumps ``version``; of racing workers exactly one updates
a row. Every later write of a job is fenced by the version its claim set, so a worker
whose claim was taken over (its lease lapsed) or whose evaluation was asked for again
cannot overwrite the newer state. The same statements run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Insert, and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import Conflict, NotFound
from storage.models import Evaluation, Session, SessionEvent
from storage.repos.flushing import ENDED_STATUSES

PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
#: Candidates read per claim: a few, so a worker that loses one race tries the next.
CLAIM_CANDIDATES = 5


@dataclass(frozen=True, slots=True)
class Claim:
    """A job this worker holds: write back only with this ``version``."""

    evaluation_id: uuid.UUID
    session_id: uuid.UUID
    owner_id: uuid.UUID
    version: int
    attempts: int


def _fresh(now: datetime) -> dict[str, Any]:
    """The values that make a row a new pending job."""
    return {
        "status": PENDING,
        "result": None,
        "error": None,
        "attempts": 0,
        "claimed_at": None,
        "claimed_by": None,
        "released_at": None,
        "updated_at": now,
    }


def _insert_if_new(db: AsyncSession) -> Insert:
    """``INSERT ... ON CONFLICT DO NOTHING`` (one evaluation per session)."""
    if db.get_bind().dialect.name == "postgresql":
        return postgresql.insert(Evaluation).on_conflict_do_nothing()
    return sqlite.insert(Evaluation).on_conflict_do_nothing()


async def ensure_pending(
    db: AsyncSession, session: Session, now: datetime, *, ended_at: datetime | None
) -> bool:
    """A pending evaluation for this end of ``session``: inserted if the session has none,
    reset (result, release and claim cleared, the teacher's overrides kept) if its row is
    for an earlier end. Idempotent: the same end twice changes nothing the second time.
    True when a job was made pending."""
    inserted = await db.execute(
        _insert_if_new(db).values(
            id=uuid.uuid4(),
            session_id=session.id,
            owner_id=session.owner_id,
            grader="automatic",
            rubric=[],
            overrides={},
            version=1,
            session_ended_at=ended_at,
            created_at=now,
            **_fresh(now),
        )
    )
    if inserted.rowcount == 1:  # type: ignore[attr-defined]
        return True
    if ended_at is None:
        return False
    earlier = or_(Evaluation.session_ended_at.is_(None), Evaluation.session_ended_at != ended_at)
    reset = await db.execute(
        update(Evaluation)
        .where(Evaluation.session_id == session.id, earlier)
        .values(version=Evaluation.version + 1, session_ended_at=ended_at, **_fresh(now))
        .execution_options(synchronize_session=False)
    )
    return bool(reset.rowcount == 1)  # type: ignore[attr-defined]


async def request_again(
    db: AsyncSession, owner_id: uuid.UUID, session: Session, now: datetime
) -> Evaluation:
    """The teacher's "evaluate again": a new pending job (result and release cleared,
    overrides kept); a pending one is left as it is.

    Raises :class:`Conflict` while a worker runs it."""
    row = await find(db, owner_id, session.id)
    if row is None:
        await ensure_pending(db, session, now, ended_at=session.ended_at)
        return await get(db, owner_id, session.id)
    if row.status == RUNNING:
        raise Conflict()
    if row.status != PENDING:
        statement = (
            update(Evaluation)
            .where(Evaluation.id == row.id, Evaluation.version == row.version)
            .values(version=row.version + 1, **_fresh(now))
            .execution_options(synchronize_session=False)
        )
        if (await db.execute(statement)).rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict()
    return await get(db, owner_id, session.id, fresh=True)


async def claim_next(
    db: AsyncSession,
    now: datetime,
    *,
    lease_seconds: float,
    worker: str,
    max_attempts: int,
) -> Claim | None:
    """Take the oldest pending job, or one whose running claim is older than the lease
    (its worker died or hung). A lapsed claim that used up ``max_attempts`` is marked
    failed instead. None when there is nothing to do or every candidate was taken first."""
    stale = now - timedelta(seconds=lease_seconds)
    waiting = or_(
        Evaluation.status == PENDING,
        and_(Evaluation.status == RUNNING, Evaluation.claimed_at < stale),
    )
    rows = (
        await db.execute(
            select(Evaluation.id, Evaluation.version, Evaluation.attempts)
            .where(waiting)
            .order_by(Evaluation.updated_at, Evaluation.id)
            .limit(CLAIM_CANDIDATES)
        )
    ).all()
    for evaluation_id, version, attempts in rows:
        if attempts >= max_attempts:
            values: dict[str, Any] = {
                "status": FAILED,
                "error": f"gave up after {attempts} attempts (the worker stopped each time)",
                "claimed_at": None,
                "claimed_by": None,
            }
        else:
            values = {
                "status": RUNNING,
                "claimed_at": now,
                "claimed_by": worker,
                "attempts": attempts + 1,
            }
        taken = await db.execute(
            update(Evaluation)
            .where(Evaluation.id == evaluation_id, Evaluation.version == version, waiting)
            .values(version=version + 1, updated_at=now, **values)
            .returning(Evaluation.session_id, Evaluation.owner_id)
            .execution_options(synchronize_session=False)
        )
        row = taken.one_or_none()
        if row is not None and values["status"] == RUNNING:
            return Claim(evaluation_id, row.session_id, row.owner_id, version + 1, attempts + 1)
    return None


async def finish(
    db: AsyncSession,
    claim: Claim,
    now: datetime,
    *,
    status: str,
    grader: str,
    result: dict[str, Any] | None,
    rubric: list[dict[str, Any]],
    error: str | None,
) -> bool:
    """Store a job's outcome if the claim still holds; False when it was taken over or
    the evaluation was asked for again meanwhile (the outcome is then dropped)."""
    statement = (
        update(Evaluation)
        .where(
            Evaluation.id == claim.evaluation_id,
            Evaluation.version == claim.version,
            Evaluation.status == RUNNING,
        )
        .values(
            version=claim.version + 1,
            status=status,
            grader=grader,
            result=result,
            rubric=rubric,
            error=error,
            claimed_at=None,
            claimed_by=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return bool((await db.execute(statement)).rowcount == 1)  # type: ignore[attr-defined]


async def give_back(
    db: AsyncSession, claim: Claim, now: datetime, *, max_attempts: int, error: str
) -> bool:
    """After a job broke (the database, a timeout): pending again while attempts remain,
    else failed with ``error``. Fenced like :func:`finish`."""
    values: dict[str, Any] = {"status": PENDING, "error": error}
    if claim.attempts >= max_attempts:
        values = {"status": FAILED, "error": error}
    statement = (
        update(Evaluation)
        .where(
            Evaluation.id == claim.evaluation_id,
            Evaluation.version == claim.version,
            Evaluation.status == RUNNING,
        )
        .values(
            version=claim.version + 1,
            claimed_at=None,
            claimed_by=None,
            updated_at=now,
            **values,
        )
        .execution_options(synchronize_session=False)
    )
    return bool((await db.execute(statement)).rowcount == 1)  # type: ignore[attr-defined]


async def find(
    db: AsyncSession, owner_id: uuid.UUID, session_id: uuid.UUID, *, fresh: bool = False
) -> Evaluation | None:
    query = select(Evaluation).where(
        Evaluation.session_id == session_id, Evaluation.owner_id == owner_id
    )
    if fresh:
        query = query.execution_options(populate_existing=True)
    return (await db.execute(query)).scalar_one_or_none()


async def get(
    db: AsyncSession, owner_id: uuid.UUID, session_id: uuid.UUID, *, fresh: bool = False
) -> Evaluation:
    """The owner's evaluation of the session. Raises :class:`NotFound` ("evaluation")."""
    row = await find(db, owner_id, session_id, fresh=fresh)
    if row is None:
        raise NotFound("evaluation")
    return row


async def get_unscoped(db: AsyncSession, session_id: uuid.UUID) -> Evaluation | None:
    """For callers that authorised access another way (the student's cookie)."""
    query = select(Evaluation).where(Evaluation.session_id == session_id)
    return (await db.execute(query)).scalar_one_or_none()


async def for_sessions(
    db: AsyncSession, owner_id: uuid.UUID, session_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Evaluation]:
    """The owner's evaluations of the given sessions, by session id."""
    if not session_ids:
        return {}
    query = select(Evaluation).where(
        Evaluation.owner_id == owner_id, Evaluation.session_id.in_(list(set(session_ids)))
    )
    return {row.session_id: row for row in (await db.execute(query)).scalars()}


async def with_results(
    db: AsyncSession, owner_id: uuid.UUID, *, limit: int
) -> list[tuple[Evaluation, Session]]:
    """The owner's evaluations that hold a result (done, or failed with the automatic
    part), newest session end first, at most ``limit``, each with its session."""
    query = (
        select(Evaluation, Session)
        .join(Session, Session.id == Evaluation.session_id)
        .where(Evaluation.owner_id == owner_id, Evaluation.result.is_not(None))
        .order_by(Evaluation.session_ended_at.desc(), Evaluation.id)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in (await db.execute(query)).all()]


async def client_states(db: AsyncSession, session_id: uuid.UUID) -> list[dict[str, Any]]:
    """The ``data`` of the session's ``client_state`` audit rows, in seq order."""
    query = (
        select(SessionEvent.data)
        .where(SessionEvent.session_id == session_id, SessionEvent.kind == "client_state")
        .order_by(SessionEvent.seq, SessionEvent.id)
    )
    return [dict(data or {}) for data in (await db.execute(query)).scalars()]


async def ended_session(db: AsyncSession, session_id: uuid.UUID) -> Session | None:
    """The session if it has ended (completed or expired), else None."""
    session = await db.get(Session, session_id, populate_existing=True)
    if session is None or session.status not in ENDED_STATUSES:
        return None
    return session


async def ended_without_evaluation(
    db: AsyncSession, since: datetime, *, limit: int
) -> list[Session]:
    """Sessions that ended at or after ``since`` and have no evaluation row."""
    missing = ~select(Evaluation.id).where(Evaluation.session_id == Session.id).exists()
    query = (
        select(Session)
        .where(Session.status.in_(ENDED_STATUSES), Session.ended_at >= since, missing)
        .order_by(Session.ended_at, Session.id)
        .limit(limit)
    )
    return list((await db.execute(query)).scalars())
