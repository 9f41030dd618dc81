"""Response bodies of the attempts API (docs/attempts.md)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from server.schemas import Input


class AttemptRef(BaseModel):
    """One attempt, named: what a restart answers for the old and the new attempt."""

    id: uuid.UUID
    attempt: int
    status: str
    end_reason: str | None


class RestartOut(BaseModel):
    """The attempt that was restarted (ended, reason ``restarted``, unless it had ended
    already) and the attempt that follows it."""

    previous: AttemptRef
    next: AttemptRef


class AttemptUsageOut(BaseModel):
    """The provider calls of one attempt. ``cost_micros`` maps a currency to millionths
    of it, for the priced calls only; ``unpriced_calls`` counts calls without a price."""

    tokens_used: int
    token_budget: int
    calls: int
    input_tokens: int
    output_tokens: int
    cost_micros: dict[str, int]
    unpriced_calls: int


class AttemptOut(BaseModel):
    id: uuid.UUID
    attempt: int
    #: Whether this is the series' latest attempt (the one a restart would follow).
    latest: bool
    status: str
    end_reason: str | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    time_limit_seconds: int
    #: Stored transcript messages (whispers included).
    messages: int
    #: ``pending``, ``running``, ``done`` or ``failed``; None before the attempt ends.
    evaluation_status: str | None
    evaluation_released: bool
    usage: AttemptUsageOut


class AttemptPage(BaseModel):
    """Every attempt of a session's series, first attempt first."""

    items: list[AttemptOut]


class NextAttemptOut(BaseModel):
    """The attempt a student's page moves to (its cookie was set with this answer)."""

    id: uuid.UUID
    attempt: int
    status: str


class RestartPolicyIn(Input):
    """``PATCH /api/sessions/{id}``: what a teacher may change on an existing session."""

    #: Whether the student may restart the session themselves; applies to every attempt of
    #: the series (a new attempt copies it).
    student_may_restart: bool
