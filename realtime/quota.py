"""A teacher's monthly caps, in tokens and in money: pure date and cap logic plus one
SQL statement (:func:`storage.repos.usage.cap_usage`).

Precedence: the teacher's own token cap (``users.monthly_token_cap``, set by an admin)
wins over ``TEACHER_MONTHLY_TOKEN_CAP``; a money cap (``users.monthly_cost_micros_cap``,
millionths of the catalog's currency) applies only when set. Either cap reached refuses
new sessions and new replies until the next calendar month (UTC). A cap of 0 allows
nothing. The money cap counts priced calls only: an unpriced call's cost is unknown.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
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


def effective_token_cap(own: int | None, default: int | None) -> int | None:
    """The token cap that applies: the teacher's own, else the site's default."""
    return own if own is not None else default


@dataclass(frozen=True, slots=True)
class MonthlyCaps:
    """The caps that apply to one teacher (None: no cap of that kind)."""

    tokens: int | None
    cost_micros: int | None

    def reached(self, tokens_used: int | None, cost_micros_used: int | None) -> bool:
        """Whether a cap is used up (at or past it). A use of None was not measured and
        cannot reach its cap."""
        return (
            self.tokens is not None and tokens_used is not None and tokens_used >= self.tokens
        ) or (
            self.cost_micros is not None
            and cost_micros_used is not None
            and cost_micros_used >= self.cost_micros
        )

    def far(self, tokens_used: int | None, cost_micros_used: int | None) -> bool:
        """Whether every cap that applies has at least :data:`FAR_TOKENS` tokens and
        :data:`FAR_SHARE` of its size left: more than a worker's replies can use in the
        second a say path trusts an earlier check for."""
        return _far(self.tokens, tokens_used, FAR_TOKENS) and _far(
            self.cost_micros, cost_micros_used, 0
        )


#: A worker streaming 100 replies spends at most ~17,000 tokens a second (100 x 500
#: tokens per ~3 s turn); 20,000 left and 10% of the cap is out of its reach in 1 s.
FAR_TOKENS = 20_000
FAR_SHARE = 0.1


def _far(cap: int | None, used: int | None, least: int) -> bool:
    if cap is None or used is None:
        return True
    left = cap - used
    return left >= least and left >= cap * FAR_SHARE


@dataclass(frozen=True, slots=True)
class CapState:
    """What one check of a teacher's caps found."""

    reached: bool
    #: Far from every cap (see :meth:`MonthlyCaps.far`): a worker may trust this check
    #: for a second instead of asking SQL on every say.
    far: bool


def caps_of(usage: usage_repo.CapUsage, default_token_cap: int | None) -> MonthlyCaps:
    return MonthlyCaps(
        effective_token_cap(usage.own_token_cap, default_token_cap), usage.own_cost_micros_cap
    )


async def cap_state(db: Database, owner_id: uuid.UUID, cap: int | None, now: datetime) -> CapState:
    """:func:`over_cap`, and whether the teacher is far from every cap."""
    async with db.session() as s:
        usage = await usage_repo.cap_usage(s, owner_id, month_start(now), cap)
    if usage is None:
        return CapState(reached=False, far=True)
    caps = caps_of(usage, cap)
    return CapState(
        reached=caps.reached(usage.tokens_used, usage.cost_micros_used),
        far=caps.far(usage.tokens_used, usage.cost_micros_used),
    )


async def over_cap(db: Database, owner_id: uuid.UUID, cap: int | None, now: datetime) -> bool:
    """True when the teacher has used up a monthly cap this calendar month (UTC): their
    own token cap or else ``cap`` (the site's default), or their money cap. One SQL
    statement; a primary-key read only when no cap applies. An unknown owner has no cap."""
    async with db.session() as s:
        usage = await usage_repo.cap_usage(s, owner_id, month_start(now), cap)
    if usage is None:
        return False
    return caps_of(usage, cap).reached(usage.tokens_used, usage.cost_micros_used)


CAP_MESSAGE = (
    "Your monthly allowance for AI replies (tokens or cost) is used up; it renews on the "
    "first of next month. Ask an administrator to raise your monthly cap if needed."
)
