"""Writes of the live-log flusher, and which sessions it watches.

Inserts are ``INSERT ... ON CONFLICT DO NOTHING`` (PostgreSQL and SQLite dialects): rows
are keyed by ``(session_id, seq)`` (and a message by its id), so replaying a batch that
was already committed, by this flusher after a crash or by another one at the same time,
stores nothing twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Message, Session, SessionEvent

LIVE_STATUSES = ("created", "active", "paused")
ENDED_STATUSES = ("completed", "expired")


def _insert_ignoring_duplicates(db: AsyncSession, table: type[Any]) -> Insert:
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise NotImplementedError(f"no idempotent insert for {dialect}")


async def insert_messages(db: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert message rows (column -> value); rows already stored are skipped."""
    if rows:
        await db.execute(_insert_ignoring_duplicates(db, Message).values(list(rows)))


async def insert_events(db: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert audit rows that carry a ``seq``; rows already stored are skipped."""
    if rows:
        await db.execute(_insert_ignoring_duplicates(db, SessionEvent).values(list(rows)))


async def sessions_to_flush(
    db: AsyncSession, ended_since: datetime, after: uuid.UUID | None, limit: int
) -> list[uuid.UUID]:
    """Up to ``limit`` sessions (by id, above ``after``) whose live log may hold unflushed
    events: not ended yet (a teacher can whisper before the start), or ended at or after
    ``ended_since`` (a reply that outlived the end's grace period lands after it)."""
    query = select(Session.id).where(
        or_(
            Session.status.in_(LIVE_STATUSES),
            and_(Session.status.in_(ENDED_STATUSES), Session.ended_at >= ended_since),
        )
    )
    if after is not None:
        query = query.where(Session.id > after)
    result = await db.execute(query.order_by(Session.id).limit(limit))
    return list(result.scalars())
