from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ApiUsage, Session

GroupBy = Literal["provider", "model", "session"]


async def record_call(db: AsyncSession, owner_id: uuid.UUID, **fields: Any) -> ApiUsage:
    row = ApiUsage(owner_id=owner_id, **fields)
    db.add(row)
    await db.flush()
    return row


@dataclass(frozen=True, slots=True)
class UsageRow:
    key: str
    label: str
    calls: int
    input_tokens: int
    output_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


async def summarize(
    db: AsyncSession,
    owner_id: uuid.UUID,
    start: datetime,
    end: datetime,
    group_by: GroupBy,
) -> list[UsageRow]:
    """Calls and tokens of the owner's provider calls in ``[start, end)``, grouped."""
    column = {
        "provider": ApiUsage.provider,
        "model": ApiUsage.model,
        "session": ApiUsage.session_id,
    }[group_by]
    label = Session.student_name if group_by == "session" else column
    query = (
        select(
            column,
            func.max(label),
            func.count(ApiUsage.id),
            func.coalesce(func.sum(ApiUsage.input_tokens), 0),
            func.coalesce(func.sum(ApiUsage.output_tokens), 0),
        )
        .select_from(ApiUsage)
        .outerjoin(Session, Session.id == ApiUsage.session_id)
        .where(
            ApiUsage.owner_id == owner_id,
            ApiUsage.created_at >= start,
            ApiUsage.created_at < end,
        )
        .group_by(column)
        .order_by(column)
    )
    rows = (await db.execute(query)).all()
    return [
        UsageRow(str(key), str(name or key), int(calls), int(inp), int(out))
        for key, name, calls, inp, out in rows
    ]


async def tokens_since(db: AsyncSession, owner_id: uuid.UUID, start: datetime) -> int:
    """Input plus output tokens of the owner's calls since ``start`` (the monthly cap)."""
    query = select(
        func.coalesce(func.sum(ApiUsage.input_tokens + ApiUsage.output_tokens), 0)
    ).where(ApiUsage.owner_id == owner_id, ApiUsage.created_at >= start)
    return int((await db.execute(query)).scalar_one())
