"""Token budgets: the policy (when to warn, wind down, stop), a pure ledger and the
stores that keep it atomically."""

from __future__ import annotations

from typing import TYPE_CHECKING

from realtime.budgets.ledger import Ledger, Refused, Reserved, Settled
from realtime.budgets.policy import WARNING_LEVELS, WIND_DOWN_PERCENT
from realtime.budgets.store import (
    RESERVATION_TTL_SECONDS,
    BudgetSnapshot,
    BudgetStart,
    BudgetStore,
    MemoryBudgetStore,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "RESERVATION_TTL_SECONDS",
    "WARNING_LEVELS",
    "WIND_DOWN_PERCENT",
    "BudgetSnapshot",
    "BudgetStart",
    "BudgetStore",
    "Ledger",
    "MemoryBudgetStore",
    "Refused",
    "Reserved",
    "Settled",
    "make_budget_store",
]


def make_budget_store(
    redis: Redis | None, prefix: str = "vc", ttl: float = RESERVATION_TTL_SECONDS
) -> BudgetStore:
    """Redis when a client is given (shared by workers), else in-process; ``ttl`` is how
    long an unsettled reservation (a crashed worker's) holds tokens. The ledger's
    scripts run as the log's do (:func:`realtime.backends.redis_scripts.scripts_for`;
    a connection of their own on a single Redis, closed by ``aclose``)."""
    if redis is None:
        return MemoryBudgetStore(ttl)
    from realtime.backends.redis_scripts import scripts_for
    from realtime.budgets.redis_store import RedisBudgetStore

    return RedisBudgetStore(redis, prefix, ttl, scripts=scripts_for(redis))
