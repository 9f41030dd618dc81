from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import Conflict, NotFound
from storage.models import Session, SessionEvent, User


async def create_session(db: AsyncSession, owner_id: uuid.UUID, **fields: Any) -> Session:
    session = Session(owner_id=owner_id, **fields)
    db.add(session)
    await db.flush()
    return session


async def get_session(db: AsyncSession, owner_id: uuid.UUID, session_id: uuid.UUID) -> Session:
    """Raise :class:`NotFound` unless the session exists and belongs to ``owner_id``."""
    result = await db.execute(
        select(Session).where(Session.id == session_id, Session.owner_id == owner_id)
    )
    session = result.scalar_one_or_none()
    if session is None:
        raise NotFound("session")
    return session


async def get_session_unscoped(db: AsyncSession, session_id: uuid.UUID) -> Session:
    """For callers that authorised access another way (student cookie, watchdog).

    Raises :class:`NotFound`."""
    session = await db.get(Session, session_id, populate_existing=True)
    if session is None:
        raise NotFound("session")
    return session


async def get_session_and_owner(db: AsyncSession, session_id: uuid.UUID) -> tuple[Session, User]:
    """The session and its owner in one query: a socket's handshake checks a student's
    claim against the session and a teacher's against the owner (one query per reconnect
    in a reconnect storm, not two). Raises :class:`NotFound`."""
    query = (
        select(Session, User)
        .join(User, User.id == Session.owner_id)
        .where(Session.id == session_id)
        .execution_options(populate_existing=True)
    )
    row = (await db.execute(query)).one_or_none()
    if row is None:
        raise NotFound("session")
    return row[0], row[1]


async def list_sessions(
    db: AsyncSession,
    owner_id: uuid.UUID,
    *,
    statuses: Sequence[str] = (),
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Session], int]:
    """A page of the owner's sessions, newest first, and the total matching the filter."""
    where = [Session.owner_id == owner_id]
    if statuses:
        where.append(Session.status.in_(list(statuses)))
    total = (await db.execute(select(func.count()).select_from(Session).where(*where))).scalar_one()
    result = await db.execute(
        select(Session)
        .where(*where)
        .order_by(Session.created_at.desc(), Session.id)
        .limit(limit)
        .offset(offset)
    )
    return list(result.scalars()), int(total)


async def update_if_version(
    db: AsyncSession, session_id: uuid.UUID, expected_version: int, values: dict[str, Any]
) -> None:
    """Apply ``values`` only if nobody changed the row since ``expected_version`` was read.

    Raises :class:`Conflict` when another writer got there first; the caller re-reads."""
    result = await db.execute(
        update(Session)
        .where(Session.id == session_id, Session.version == expected_version)
        .values(version=expected_version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict()


async def touch_activity(db: AsyncSession, session_id: uuid.UUID, at: datetime) -> None:
    """Set the session's ``last_activity_at`` (the idle timer) in one statement, without
    loading the row; no such session is no error (nothing to keep alive)."""
    await db.execute(
        update(Session)
        .where(Session.id == session_id)
        .values(last_activity_at=at)
        .execution_options(synchronize_session=False)
    )


async def add_event(
    db: AsyncSession,
    session_id: uuid.UUID,
    kind: str,
    actor: str,
    data: dict[str, Any] | None = None,
    *,
    seq: int | None = None,
    at: datetime | None = None,
) -> SessionEvent:
    event = SessionEvent(session_id=session_id, kind=kind, actor=actor, data=data or {}, seq=seq)
    if at is not None:
        event.created_at = at
    db.add(event)
    await db.flush()
    return event


async def list_events(db: AsyncSession, session_id: uuid.UUID) -> list[SessionEvent]:
    result = await db.execute(
        select(SessionEvent)
        .where(SessionEvent.session_id == session_id)
        .order_by(SessionEvent.created_at, SessionEvent.id)
    )
    return list(result.scalars())


class ActiveTimes(NamedTuple):
    """An active session's id and the columns that tell when it runs out."""

    id: uuid.UUID
    time_limit_seconds: int
    active_seconds: float
    active_since: datetime | None
    deadline_at: datetime | None
    last_activity_at: datetime | None


async def active_page(db: AsyncSession, after: uuid.UUID | None, limit: int) -> list[ActiveTimes]:
    """Up to ``limit`` active sessions' times, by id, above ``after`` (a keyset page: the
    next page starts after this one's last id). Columns, not rows: the watchdog reads
    every active session twice a second, 200 ORM rows a second at 100 sessions, each
    page in one step of its event loop (the whole scan was at most ~2% of that loaded
    worker's CPU: scanning every 5 s instead saved no more)."""
    query = select(*(getattr(Session, name) for name in ActiveTimes._fields))
    query = query.where(Session.status == "active")
    if after is not None:
        query = query.where(Session.id > after)
    result = await db.execute(query.order_by(Session.id).limit(limit))
    return [ActiveTimes(*row) for row in result]
