from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import Duplicate
from storage.models import User


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def create_user(
    db: AsyncSession, *, email: str, name: str, role: str, password_hash: str
) -> User:
    """Insert a user; raise :class:`Duplicate` if the email is taken."""
    user = User(email=normalise_email(email), name=name, role=role, password_hash=password_hash)
    db.add(user)
    try:
        async with db.begin_nested():
            await db.flush()
    except IntegrityError as error:
        raise Duplicate("email") from error
    return user


async def get_by_email(db: AsyncSession, email: str) -> User | None:
    result = await db.execute(select(User).where(User.email == normalise_email(email)))
    return result.scalar_one_or_none()


async def get(db: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await db.get(User, user_id)


async def count(db: AsyncSession) -> int:
    return int((await db.execute(select(func.count()).select_from(User))).scalar_one())


async def set_password_hash(db: AsyncSession, user: User, password_hash: str) -> None:
    user.password_hash = password_hash
    await db.flush()


async def revoke_sessions(
    db: AsyncSession, user_id: uuid.UUID, *, password_hash: str | None = None
) -> int | None:
    """Bump the user's ``session_version`` (and set ``password_hash`` if given) in one
    statement, so racing logouts and password changes each end on a version of their own;
    returns the new version, or None if there is no such user."""
    values: dict[str, object] = {"session_version": User.session_version + 1}
    if password_hash is not None:
        values["password_hash"] = password_hash
    statement = (
        update(User).where(User.id == user_id).values(values).returning(User.session_version)
    )
    version = (await db.execute(statement)).scalar_one_or_none()
    return None if version is None else int(version)


async def list_teachers(db: AsyncSession, roles: frozenset[str]) -> list[User]:
    """Every user whose role is in ``roles``, by email (the admin's overview)."""
    query = select(User).where(User.role.in_(sorted(roles))).order_by(User.email)
    return list((await db.execute(query)).scalars())


async def set_caps(
    db: AsyncSession, user: User, *, token_cap: int | None, cost_micros_cap: int | None
) -> None:
    """Replace the user's own monthly caps (None: the default token cap, no money cap)."""
    user.monthly_token_cap = token_cap
    user.monthly_cost_micros_cap = cost_micros_cap
    await db.flush()
