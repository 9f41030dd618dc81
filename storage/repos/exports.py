"""Queries for transcript exports (always scoped to one teacher)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ClientProfile, Session


async def sessions_for_export(
    db: AsyncSession,
    owner_id: uuid.UUID,
    *,
    statuses: Sequence[str] = (),
    created_from: datetime | None = None,
    created_before: datetime | None = None,
    limit: int,
) -> list[Session]:
    """The owner's sessions matching the filter, oldest first, at most ``limit``
    (ask for one more than allowed to tell "too many")."""
    query = select(Session).where(Session.owner_id == owner_id)
    if statuses:
        query = query.where(Session.status.in_(list(statuses)))
    if created_from is not None:
        query = query.where(Session.created_at >= created_from)
    if created_before is not None:
        query = query.where(Session.created_at < created_before)
    result = await db.execute(query.order_by(Session.created_at, Session.id).limit(limit))
    return list(result.scalars())


async def client_names(db: AsyncSession, profile_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Profile id -> the client's name, for the given profiles."""
    if not profile_ids:
        return {}
    result = await db.execute(
        select(ClientProfile.id, ClientProfile.name).where(
            ClientProfile.id.in_(list(set(profile_ids)))
        )
    )
    return {row.id: row.name for row in result}
