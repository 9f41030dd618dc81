"""Case-file rows (``profile_files``). The bytes live in a file store (``filestore``);
a row names its object by ``storage_key``. Teachers' queries filter on ``owner_id``;
students' on the profile of their session and ``visible_to_students``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import NotFound
from storage.models import ClientProfile, ProfileFile

__all__ = [
    "TooManyFiles",
    "add_file",
    "all_files",
    "check_room",
    "count_files",
    "delete_file",
    "get_file",
    "get_visible_file",
    "list_files",
    "list_visible_files",
]


class TooManyFiles(Exception):
    """The profile already holds the most files allowed."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"a profile holds at most {limit} files")
        self.limit = limit


async def _owned_profile(
    db: AsyncSession, owner_id: uuid.UUID, profile_id: uuid.UUID, *, lock: bool = False
) -> ClientProfile:
    query = select(ClientProfile).where(
        ClientProfile.id == profile_id, ClientProfile.owner_id == owner_id
    )
    if lock:
        # Serialises concurrent uploads to one profile on PostgreSQL so the count below
        # holds (SQLite has one writer at a time anyway).
        query = query.with_for_update()
    profile = (await db.execute(query)).scalar_one_or_none()
    if profile is None:
        raise NotFound("profile")
    return profile


async def count_files(db: AsyncSession, profile_id: uuid.UUID) -> int:
    query = (
        select(func.count()).select_from(ProfileFile).where(ProfileFile.profile_id == profile_id)
    )
    return int((await db.execute(query)).scalar_one())


async def check_room(
    db: AsyncSession, owner_id: uuid.UUID, profile_id: uuid.UUID, max_files: int
) -> None:
    """Raise :class:`NotFound` (not the teacher's profile) or :class:`TooManyFiles`
    before an upload is read; :func:`add_file` checks again under the lock."""
    await _owned_profile(db, owner_id, profile_id)
    if await count_files(db, profile_id) >= max_files:
        raise TooManyFiles(max_files)


async def add_file(
    db: AsyncSession,
    owner_id: uuid.UUID,
    profile_id: uuid.UUID,
    *,
    max_files: int,
    filename: str,
    content_type: str,
    size_bytes: int,
    sha256: str,
    storage_key: str,
    visible_to_students: bool,
) -> ProfileFile:
    """Raise :class:`NotFound` (not the teacher's profile, or deleted meanwhile) or
    :class:`TooManyFiles`."""
    await _owned_profile(db, owner_id, profile_id, lock=True)
    if await count_files(db, profile_id) >= max_files:
        raise TooManyFiles(max_files)
    row = ProfileFile(
        profile_id=profile_id,
        owner_id=owner_id,
        filename=filename,
        content_type=content_type,
        size_bytes=size_bytes,
        sha256=sha256,
        storage_key=storage_key,
        visible_to_students=visible_to_students,
    )
    db.add(row)
    await db.flush()
    return row


async def list_files(
    db: AsyncSession, owner_id: uuid.UUID, profile_id: uuid.UUID
) -> Sequence[ProfileFile]:
    """Raise :class:`NotFound` unless the profile is the teacher's."""
    await _owned_profile(db, owner_id, profile_id)
    result = await db.execute(
        select(ProfileFile)
        .where(ProfileFile.profile_id == profile_id)
        .order_by(ProfileFile.created_at, ProfileFile.id)
    )
    return result.scalars().all()


async def get_file(db: AsyncSession, owner_id: uuid.UUID, file_id: uuid.UUID) -> ProfileFile:
    """Raise :class:`NotFound` unless the file exists and is the teacher's."""
    result = await db.execute(
        select(ProfileFile).where(ProfileFile.id == file_id, ProfileFile.owner_id == owner_id)
    )
    row = result.scalar_one_or_none()
    if row is None:
        raise NotFound("file")
    return row


async def delete_file(db: AsyncSession, owner_id: uuid.UUID, file_id: uuid.UUID) -> ProfileFile:
    """Delete the row and return it (its object is the caller's to remove). Raise
    :class:`NotFound` unless the file is the teacher's."""
    row = await get_file(db, owner_id, file_id)
    await db.delete(row)
    await db.flush()
    return row


async def list_visible_files(db: AsyncSession, profile_id: uuid.UUID) -> Sequence[ProfileFile]:
    result = await db.execute(
        select(ProfileFile)
        .where(ProfileFile.profile_id == profile_id, ProfileFile.visible_to_students.is_(True))
        .order_by(ProfileFile.created_at, ProfileFile.id)
    )
    return result.scalars().all()


async def get_visible_file(
    db: AsyncSession, profile_id: uuid.UUID, file_id: uuid.UUID
) -> ProfileFile:
    """Raise :class:`NotFound` unless the file belongs to ``profile_id`` and is visible."""
    result = await db.execute(
        select(ProfileFile).where(
            ProfileFile.id == file_id,
            ProfileFile.profile_id == profile_id,
            ProfileFile.visible_to_students.is_(True),
        )
    )
    row = result.scalar_one_or_none()
    if row is None:
        raise NotFound("file")
    return row


async def all_files(db: AsyncSession) -> list[tuple[uuid.UUID, str, datetime]]:
    """Every row's id, storage key and creation time (for cleanup; every teacher's)."""
    result = await db.execute(
        select(ProfileFile.id, ProfileFile.storage_key, ProfileFile.created_at)
    )
    return [(row[0], row[1], row[2]) for row in result.all()]
