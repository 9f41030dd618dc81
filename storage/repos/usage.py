"""Provider calls: recording them, and summing their tokens and cost.

Cost is ``cost_micros`` (millionths of ``currency``); NULL means the call had no price,
which is unknown, not free: every sum here keeps the priced micros by currency apart
from the count of unpriced calls, so no caller can mistake "unpriced" for 0."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, SQLColumnExpression, case, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ApiUsage, Session, User

GroupBy = Literal["provider", "model", "session", "student"]

#: ``api_usage.currency`` when a call names none (the column's default).
DEFAULT_CURRENCY = "USD"

#: The key and label of calls without a session (a deleted session's calls keep their
#: row with ``session_id`` NULL).
NO_SESSION_KEY, NO_SESSION_LABEL = "", "(no session)"


async def record_call(db: AsyncSession, owner_id: uuid.UUID, **fields: Any) -> ApiUsage:
    row = ApiUsage(owner_id=owner_id, **fields)
    db.add(row)
    await db.flush()
    return row


@dataclass(slots=True)
class UsageRow:
    """Calls, tokens and cost of one group. ``cost_micros`` holds the priced calls' cost
    per currency (empty when none was priced); ``unpriced_calls`` counts the calls whose
    cost is unknown."""

    key: str
    label: str
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_micros: dict[str, int] = field(default_factory=dict)
    unpriced_calls: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def cost_complete(self) -> bool:
        """Whether every call was priced: only then is ``cost_micros`` the whole cost."""
        return self.unpriced_calls == 0

    def add(self, calls: int, inp: int, out: int, currency: str, micros: int | None) -> None:
        """Fold in one ``(group, currency)`` SQL row (``micros`` None: none priced)."""
        self.calls += calls
        self.input_tokens += inp
        self.output_tokens += out
        if micros is not None:
            self.cost_micros[currency] = self.cost_micros.get(currency, 0) + micros

    def merge(self, other: UsageRow) -> None:
        """Add ``other``'s calls, tokens and cost to this row (a total of groups)."""
        self.calls += other.calls
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        for currency, micros in other.cost_micros.items():
            self.cost_micros[currency] = self.cost_micros.get(currency, 0) + micros
        self.unpriced_calls += other.unpriced_calls


def _sums() -> tuple[ColumnElement[Any], ...]:
    """Calls, tokens, priced micros and priced calls of a group (SUM of only NULLs is
    NULL: no call of the group was priced)."""
    return (
        func.count(ApiUsage.id),
        func.coalesce(func.sum(ApiUsage.input_tokens), 0),
        func.coalesce(func.sum(ApiUsage.output_tokens), 0),
        func.sum(ApiUsage.cost_micros),
        func.count(ApiUsage.cost_micros),
    )


def _fold(rows: Iterable[Sequence[Any]]) -> dict[Any, UsageRow]:
    """``(key, label, currency, calls, in, out, micros, priced)`` rows, one per group
    and currency, into one :class:`UsageRow` per key (in the rows' order)."""
    folded: dict[Any, UsageRow] = {}
    for key, label, currency, calls, inp, out, micros, priced in rows:
        if key is None:
            key, label = NO_SESSION_KEY, NO_SESSION_LABEL
        row = folded.setdefault(key, UsageRow(str(key), str(label or key)))
        row.add(
            int(calls), int(inp), int(out), str(currency), None if micros is None else int(micros)
        )
        row.unpriced_calls += int(calls) - int(priced)
    return folded


async def summarize(
    db: AsyncSession,
    owner_id: uuid.UUID,
    start: datetime,
    end: datetime,
    group_by: GroupBy,
) -> list[UsageRow]:
    """Calls, tokens and cost of the owner's provider calls in ``[start, end)``, grouped.

    A student is their email when the session has one, else their name as typed (two
    students of one name without an email are one row: nothing else tells them apart)."""
    student = func.coalesce(Session.student_email, Session.student_name)
    columns: dict[GroupBy, SQLColumnExpression[Any]] = {
        "provider": ApiUsage.provider,
        "model": ApiUsage.model,
        "session": ApiUsage.session_id,
        "student": student,
    }
    column = columns[group_by]
    label = Session.student_name if group_by in ("session", "student") else column
    query = (
        select(column, func.max(label), ApiUsage.currency, *_sums())
        .select_from(ApiUsage)
        .outerjoin(Session, Session.id == ApiUsage.session_id)
        .where(
            ApiUsage.owner_id == owner_id,
            ApiUsage.created_at >= start,
            ApiUsage.created_at < end,
        )
        .group_by(column, ApiUsage.currency)
    )
    rows = _fold((await db.execute(query)).all()).values()
    # Python's order, not the database's: NULL keys and collations sort differently on
    # SQLite and PostgreSQL. Calls without a session come last.
    return sorted(rows, key=lambda row: (row.key == NO_SESSION_KEY, row.key))


async def totals_since(db: AsyncSession, owner_id: uuid.UUID, start: datetime) -> UsageRow:
    """The owner's calls, tokens and cost since ``start`` (this month, for the caps)."""
    query = (
        select(ApiUsage.owner_id, ApiUsage.owner_id, ApiUsage.currency, *_sums())
        .where(ApiUsage.owner_id == owner_id, ApiUsage.created_at >= start)
        .group_by(ApiUsage.owner_id, ApiUsage.currency)
    )
    folded = _fold((await db.execute(query)).all())
    return folded.get(owner_id, UsageRow(str(owner_id), str(owner_id)))


async def totals_by_owner(db: AsyncSession, start: datetime) -> dict[uuid.UUID, UsageRow]:
    """Every owner's calls, tokens and cost since ``start`` (the admin's overview; owners
    without a call are absent)."""
    query = (
        select(ApiUsage.owner_id, ApiUsage.owner_id, ApiUsage.currency, *_sums())
        .where(ApiUsage.created_at >= start)
        .group_by(ApiUsage.owner_id, ApiUsage.currency)
    )
    return _fold((await db.execute(query)).all())


@dataclass(frozen=True, slots=True)
class CapUsage:
    """What the monthly caps are judged on: the owner's own caps and, for each cap that
    applies, what was used this month (None where no cap applies, so it was not summed).
    ``cost_micros_used`` adds the priced calls' micros whatever their currency; unpriced
    calls add nothing (their cost is unknown)."""

    own_token_cap: int | None
    own_cost_micros_cap: int | None
    tokens_used: int | None
    cost_micros_used: int | None


async def cap_usage(
    db: AsyncSession, owner_id: uuid.UUID, start: datetime, default_token_cap: int | None
) -> CapUsage | None:
    """The owner's caps and month-to-date use in one statement (the say path calls this
    once per message). A sum runs only when its cap applies (CASE evaluates its subquery
    lazily on SQLite and PostgreSQL), so with no cap this is one primary-key read.
    None when there is no such user."""
    in_month = (ApiUsage.owner_id == owner_id, ApiUsage.created_at >= start)
    tokens = (
        select(func.coalesce(func.sum(ApiUsage.input_tokens + ApiUsage.output_tokens), 0))
        .where(*in_month)
        .scalar_subquery()
    )
    cost = (
        select(func.coalesce(func.sum(ApiUsage.cost_micros), 0)).where(*in_month).scalar_subquery()
    )
    token_cap_applies = (
        true() if default_token_cap is not None else User.monthly_token_cap.is_not(None)
    )
    query = select(
        User.monthly_token_cap,
        User.monthly_cost_micros_cap,
        case((token_cap_applies, tokens), else_=None),
        case((User.monthly_cost_micros_cap.is_not(None), cost), else_=None),
    ).where(User.id == owner_id)
    row = (await db.execute(query)).one_or_none()
    if row is None:
        return None
    token_cap, cost_cap, tokens_used, cost_used = row
    return CapUsage(
        token_cap,
        cost_cap,
        None if tokens_used is None else int(tokens_used),
        None if cost_used is None else int(cost_used),
    )
