"""The usage a reply's provider call ran up, carried by the session log to the flusher
and to observing teachers (apart from :mod:`realtime.events`, which is at its size limit)."""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from realtime.eventbase import Sequenced
from realtime.vocabulary import EventType

__all__ = ["CallUsage", "ReplyUsage"]


class CallUsage(BaseModel):
    """One metered provider call, priced from the catalog when the reply ended."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    provider: str
    model: str
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    time_to_first_token_ms: int | None = None
    duration_ms: int = Field(ge=0)
    outcome: str
    #: The catalog entry the call used, its cost in millionths of ``currency`` (None:
    #: unpriced, which is unknown, not free).
    model_id: str | None = None
    cost_micros: int | None = None
    currency: str


class ReplyUsage(Sequenced):
    """What a reply's provider call used and the session's token count after it: the
    flusher stores it as an ``api_usage`` row (keyed by ``(session_id, seq)``, so a
    replayed batch stores it once) and raises ``sessions.tokens_used``, in the
    transaction it commits the reply's message in. Published with the reply's end, so
    a usage row costs no transaction of its own and outlives a database blip as the
    transcript does. Observers only: the spend is the teacher's business, not the
    student's (and an observer's seqs stay contiguous)."""

    DURABLE: ClassVar[bool] = True
    OBSERVERS_ONLY: ClassVar[bool] = True
    type: Literal[EventType.REPLY_USAGE] = EventType.REPLY_USAGE
    reply_id: str
    #: The teacher the call is billed to.
    owner_id: uuid.UUID
    #: The session's settled token count after this reply.
    tokens_used: int = Field(ge=0)
    #: None when the call was not metered: only the token count is raised.
    call: CallUsage | None = None
