"""The optional per-teacher monthly token cap (pure date logic plus one SQL sum)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from storage.db import Database
from storage.repos import usage as usage_repo


def month_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month_start(now: datetime) -> datetime:
    start = month_start(now)
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


async def over_cap(db: Database, owner_id: uuid.UUID, cap: int | None, now: datetime) -> bool:
    """True when the teacher has used ``cap`` tokens or more this calendar month (UTC)."""
    if cap is None:
        return False
    async with db.session() as s:
        used = await usage_repo.tokens_since(s, owner_id, month_start(now))
    return used >= cap


CAP_MESSAGE = (
    "Your department's monthly token allowance is used up; it renews on the first of "
    "next month. Ask an administrator to raise TEACHER_MONTHLY_TOKEN_CAP if needed."
)
