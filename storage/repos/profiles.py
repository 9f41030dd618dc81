from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import InUse, NotFound
from storage.models import ClientProfile, Session


async def list_profiles(db: AsyncSession, owner_id: uuid.UUID) -> list[ClientProfile]:
    result = await db.execute(
        select(ClientProfile)
        .where(ClientProfile.owner_id == owner_id)
        .order_by(ClientProfile.created_at, ClientProfile.id)
    )
    return list(result.scalars())


async def get_profile(
    db: AsyncSession, owner_id: uuid.UUID, profile_id: uuid.UUID
) -> ClientProfile:
    """Raise :class:`NotFound` unless the profile exists and belongs to ``owner_id``."""
    result = await db.execute(
        select(ClientProfile).where(
            ClientProfile.id == profile_id, ClientProfile.owner_id == owner_id
        )
    )
    profile = result.scalar_one_or_none()
    if profile is None:
        raise NotFound("profile")
    return profile


async def create_profile(db: AsyncSession, owner_id: uuid.UUID, **fields: Any) -> ClientProfile:
    profile = ClientProfile(owner_id=owner_id, **fields)
    db.add(profile)
    await db.flush()
    return profile


async def update_profile(
    db: AsyncSession, owner_id: uuid.UUID, profile_id: uuid.UUID, **fields: Any
) -> ClientProfile:
    profile = await get_profile(db, owner_id, profile_id)
    for name, value in fields.items():
        setattr(profile, name, value)
    await db.flush()
    return profile


async def sessions_using(db: AsyncSession, column: Any, object_id: uuid.UUID) -> list[uuid.UUID]:
    result = await db.execute(select(Session.id).where(column == object_id).order_by(Session.id))
    return list(result.scalars())


async def delete_profile(db: AsyncSession, owner_id: uuid.UUID, profile_id: uuid.UUID) -> None:
    """Raise :class:`NotFound`, or :class:`InUse` with the sessions that use the profile."""
    profile = await get_profile(db, owner_id, profile_id)
    used_by = await sessions_using(db, Session.profile_id, profile_id)
    if used_by:
        raise InUse("profile", used_by)
    await db.delete(profile)
    await db.flush()


async def count_profiles(db: AsyncSession, owner_id: uuid.UUID) -> int:
    query = (
        select(func.count()).select_from(ClientProfile).where(ClientProfile.owner_id == owner_id)
    )
    return int((await db.execute(query)).scalar_one())
