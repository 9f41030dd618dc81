from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import InUse, NotFound
from storage.models import Rubric, RubricCriterion, Session
from storage.repos.profiles import sessions_using


async def list_rubrics(db: AsyncSession, owner_id: uuid.UUID) -> list[Rubric]:
    result = await db.execute(
        select(Rubric).where(Rubric.owner_id == owner_id).order_by(Rubric.created_at, Rubric.id)
    )
    return list(result.scalars())


async def get_rubric(db: AsyncSession, owner_id: uuid.UUID, rubric_id: uuid.UUID) -> Rubric:
    """Raise :class:`NotFound` unless the rubric exists and belongs to ``owner_id``."""
    result = await db.execute(
        select(Rubric).where(Rubric.id == rubric_id, Rubric.owner_id == owner_id)
    )
    rubric = result.scalar_one_or_none()
    if rubric is None:
        raise NotFound("rubric")
    return rubric


def _criteria(criteria: list[dict[str, Any]]) -> list[RubricCriterion]:
    return [RubricCriterion(position=index, **fields) for index, fields in enumerate(criteria)]


async def create_rubric(
    db: AsyncSession,
    owner_id: uuid.UUID,
    *,
    name: str,
    description: str,
    criteria: list[dict[str, Any]],
) -> Rubric:
    rubric = Rubric(
        owner_id=owner_id, name=name, description=description, criteria=_criteria(criteria)
    )
    db.add(rubric)
    await db.flush()
    return rubric


async def update_rubric(
    db: AsyncSession,
    owner_id: uuid.UUID,
    rubric_id: uuid.UUID,
    *,
    name: str,
    description: str,
    criteria: list[dict[str, Any]],
) -> Rubric:
    rubric = await get_rubric(db, owner_id, rubric_id)
    rubric.name = name
    rubric.description = description
    rubric.criteria.clear()
    await db.flush()  # delete the old criteria before positions are reused
    rubric.criteria.extend(_criteria(criteria))
    await db.flush()
    return rubric


async def delete_rubric(db: AsyncSession, owner_id: uuid.UUID, rubric_id: uuid.UUID) -> None:
    """Raise :class:`NotFound`, or :class:`InUse` with the sessions that use the rubric."""
    rubric = await get_rubric(db, owner_id, rubric_id)
    used_by = await sessions_using(db, Session.rubric_id, rubric_id)
    if used_by:
        raise InUse("rubric", used_by)
    await db.delete(rubric)
    await db.flush()
