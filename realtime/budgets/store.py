"""Where budget ledgers live: in-process (default) or in Redis (shared by workers)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from realtime.budgets.ledger import Ledger, Refused, Reserved, Settled
from realtime.budgets.policy import WARNING_LEVELS

# A reply streams for well under two minutes (max_tokens at ~50 tokens/s); a hold older
# than this belongs to a worker that died mid-reply and is reclaimed.
RESERVATION_TTL_SECONDS = 180.0


@dataclass(frozen=True, slots=True)
class BudgetSnapshot:
    budget: int
    used: int
    reserved: int

    @property
    def left(self) -> int:
        return max(self.budget - self.used, 0)


@dataclass(frozen=True, slots=True)
class BudgetStart:
    """What a session's budget is set up with when it has none yet (as ``ensure``)."""

    budget: int
    used: int


class BudgetStore(Protocol):
    """Atomic token accounting per session. Every method is one round trip, but
    :meth:`snapshot_many`, which is one per page of sessions where the store allows it.

    ``ensure`` must be called before the others (it is idempotent), or ``reserve`` given a
    ``start``; methods on a session that was never set up raise ``KeyError`` (but
    :meth:`snapshot_many`, which answers ``None`` for it)."""

    async def ensure(self, session_id: str, budget: int, used: int) -> BudgetSnapshot:
        """Set the session's budget up unless it exists (the first values stay); where
        it stands now, as :meth:`snapshot` (one step: the say path needs both)."""
        ...

    async def reserve(
        self,
        session_id: str,
        reply_id: str,
        input_tokens: int,
        max_tokens: int,
        min_reply_tokens: int,
        *,
        start: BudgetStart | None = None,
    ) -> Reserved | Refused:
        """Hold ``input_tokens`` and up to ``max_tokens`` more for ``reply_id``; with
        ``start``, set the budget up first unless it exists (the first values stay), in
        the same step: a say plans from the session's row and log, not from a round
        trip of its own."""
        ...

    async def settle(
        self, session_id: str, reply_id: str, input_tokens: int, output_tokens: int
    ) -> Settled: ...

    async def snapshot(self, session_id: str) -> BudgetSnapshot: ...

    async def snapshot_many(self, session_ids: Sequence[str]) -> list[BudgetSnapshot | None]:
        """:meth:`snapshot` of each session, in order; ``None`` for one never set up (no
        reply yet on any worker) instead of ``KeyError``. The watchdog's scan asks this
        for a page of active sessions at once: on a standalone Redis one round trip per
        200, not one per session."""
        ...

    async def extend(self, session_id: str, tokens: int) -> None: ...

    async def forget(self, session_id: str) -> None: ...

    async def aclose(self) -> None:
        """Release what the store holds open (a connection); the process is stopping."""
        ...


class MemoryBudgetStore:
    """The single-process store: each operation runs without an ``await`` in the
    middle, so the event loop makes it atomic."""

    def __init__(
        self, ttl: float = RESERVATION_TTL_SECONDS, levels: Sequence[int] = WARNING_LEVELS
    ) -> None:
        self._ledgers: dict[str, Ledger] = {}
        self._ttl = ttl
        self._levels = tuple(levels)

    def _ledger(self, session_id: str) -> Ledger:
        return self._ledgers[session_id]

    async def ensure(self, session_id: str, budget: int, used: int) -> BudgetSnapshot:
        self._set_up(session_id, budget, used)
        return await self.snapshot(session_id)

    def _set_up(self, session_id: str, budget: int, used: int) -> None:
        if session_id not in self._ledgers:
            self._ledgers[session_id] = Ledger(budget=budget, used=used, levels=self._levels)

    async def reserve(
        self,
        session_id: str,
        reply_id: str,
        input_tokens: int,
        max_tokens: int,
        min_reply_tokens: int,
        *,
        start: BudgetStart | None = None,
    ) -> Reserved | Refused:
        if start is not None:
            self._set_up(session_id, start.budget, start.used)
        return self._ledger(session_id).reserve(
            reply_id, input_tokens, max_tokens, min_reply_tokens, time.time(), self._ttl
        )

    async def settle(
        self, session_id: str, reply_id: str, input_tokens: int, output_tokens: int
    ) -> Settled:
        return self._ledger(session_id).settle(reply_id, input_tokens, output_tokens)

    async def snapshot(self, session_id: str) -> BudgetSnapshot:
        found = self._snapshot(session_id)
        if found is None:
            raise KeyError(session_id)
        return found

    async def snapshot_many(self, session_ids: Sequence[str]) -> list[BudgetSnapshot | None]:
        return [self._snapshot(session_id) for session_id in session_ids]

    def _snapshot(self, session_id: str) -> BudgetSnapshot | None:
        ledger = self._ledgers.get(session_id)
        if ledger is None:
            return None
        ledger.reclaim(time.time())
        return BudgetSnapshot(ledger.budget, ledger.used, ledger.reserved)

    async def extend(self, session_id: str, tokens: int) -> None:
        self._ledger(session_id).extend(tokens)

    async def forget(self, session_id: str) -> None:
        self._ledgers.pop(session_id, None)

    async def aclose(self) -> None:
        return None
