"""A reply's API-usage row and the session's token count, in one SQL transaction at the
reply's end (moved out of :mod:`realtime.conversation` to keep that module one concept:
streaming)."""

from __future__ import annotations

import asyncio
import logging
import uuid

from llm.catalog import cost_micros
from llm.metrics import CallRecord
from llm.registry import ModelRegistry
from storage.db import Database
from storage.repos import sessions as session_repo
from storage.repos import usage as usage_repo

log = logging.getLogger(__name__)

__all__ = ["record_usage"]


async def record_usage(
    db: Database,
    models: ModelRegistry,
    *,
    owner_id: uuid.UUID,
    session_id: uuid.UUID,
    reply_id: str,
    model_id: str | None,
    record: CallRecord | None,
    tokens_used: int,
) -> None:
    """The usage row (priced from the catalog now) and the session's token count. Never
    raises but for cancellation: the live budget already holds the charge, and SQL
    catches up on the next reply."""
    entry = models.route(model_id).entry
    try:
        async with db.session() as s:
            if record is not None:
                await usage_repo.record_call(
                    s,
                    owner_id,
                    session_id=session_id,
                    provider=record.provider,
                    model=record.model,
                    input_tokens=record.input_tokens,
                    output_tokens=record.output_tokens,
                    time_to_first_token_ms=record.time_to_first_token_ms,
                    duration_ms=record.duration_ms,
                    outcome=record.outcome,
                    model_id=entry.id,
                    cost_micros=cost_micros(entry, record.input_tokens, record.output_tokens),
                    currency=models.catalog.currency,
                )
            await session_repo.raise_tokens_used(s, session_id, tokens_used)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("could not record usage of reply %s", reply_id)
