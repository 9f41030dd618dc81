from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ApiUsage


async def record_call(db: AsyncSession, owner_id: uuid.UUID, **fields: Any) -> ApiUsage:
    row = ApiUsage(owner_id=owner_id, **fields)
    db.add(row)
    await db.flush()
    return row
