from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Message, SessionEvent


async def list_messages(db: AsyncSession, session_id: uuid.UUID) -> list[Message]:
    result = await db.execute(
        select(Message).where(Message.session_id == session_id).order_by(Message.seq)
    )
    return list(result.scalars())


async def max_seq(db: AsyncSession, session_id: uuid.UUID) -> int:
    """The highest seq stored for the session (0 when none): where a new live log starts."""
    messages = select(func.max(Message.seq)).where(Message.session_id == session_id)
    events = select(func.max(SessionEvent.seq)).where(SessionEvent.session_id == session_id)
    highest = [(await db.execute(q)).scalar_one() for q in (messages, events)]
    return max([value for value in highest if value is not None], default=0)


async def add_message(db: AsyncSession, session_id: uuid.UUID, **fields: Any) -> Message:
    message = Message(session_id=session_id, **fields)
    db.add(message)
    await db.flush()
    return message
