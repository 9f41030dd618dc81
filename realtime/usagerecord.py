"""A reply's usage as the event that carries it to SQL: the provider call priced from
the catalog now, and the session's settled token count (moved out of
:mod:`realtime.conversation` to keep that module one concept: streaming). The flusher
stores it (:mod:`realtime.flushmap`) in the transaction it commits anyway; near a
monthly cap the reply's end stores it at once too (:func:`store_now`), keyed by the same
seq, so whichever comes first writes the row and the other finds it there."""

from __future__ import annotations

import asyncio
import logging
import uuid

from llm.catalog import cost_micros
from llm.metrics import CallRecord
from llm.registry import ModelRegistry
from realtime.control import utcnow
from realtime.flushmap import insert_rows, plan
from realtime.usage_events import CallUsage, ReplyUsage
from storage.db import Database
from storage.repos import flushing as flush_repo

log = logging.getLogger(__name__)

__all__ = ["store_now", "usage_event"]


def usage_event(
    models: ModelRegistry,
    *,
    owner_id: uuid.UUID,
    reply_id: str,
    model_id: str | None,
    record: CallRecord | None,
    tokens_used: int,
) -> ReplyUsage:
    """The ``reply.usage`` event of one finished call (pure)."""
    if record is None:
        return ReplyUsage(reply_id=reply_id, owner_id=owner_id, tokens_used=tokens_used)
    entry = models.route(model_id).entry
    call = CallUsage(
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
    return ReplyUsage(reply_id=reply_id, owner_id=owner_id, tokens_used=tokens_used, call=call)


async def store_now(db: Database, session_id: uuid.UUID, event: ReplyUsage) -> None:
    """The usage row of ``event`` (appended: it has its seq) and the session's token
    count, in one transaction now. Never raises but for cancellation: the log keeps the
    event, and the flusher stores it when SQL answers again."""
    rows = insert_rows([(session_id, plan([event]))], utcnow())
    try:
        async with db.session() as s:
            await flush_repo.insert_usage(s, rows.usage)
            await flush_repo.raise_tokens_used(s, rows.tokens_used)
    except asyncio.CancelledError:
        raise
    except Exception as problem:
        log.warning("usage of reply %s left to the flusher: %s", event.reply_id, problem)
