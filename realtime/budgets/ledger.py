"""The token budget ledger (pure): reserve before a call, settle after it, decide.

Invariant, whatever the interleaving: ``used + reserved <= budget`` after every
operation, and ``used`` never exceeds ``budget``. A reservation holds the most a call may
cost (estimated input plus the reply's ``max_tokens``); settling charges the real usage,
capped at what was reserved, and releases the rest. Reservations carry an expiry so a
crashed worker's hold is reclaimed (``RESERVATION_TTL_SECONDS``).

When a warning fires and when a session is out of tokens are decided by
:mod:`realtime.budgets.policy`. The Redis store runs the same rules in Lua
(``reserve.lua`` / ``settle.lua``); the contract tests hold both to this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from realtime.budgets.policy import WARNING_LEVELS, levels_crossed, out_of_tokens, percent_spent


@dataclass(frozen=True, slots=True)
class Reserved:
    reply_id: str
    amount: int
    max_tokens: int  # what the provider may generate
    #: Where the ledger stood as the hold was made (spent, budget): a say planned from
    #: the row and the log checks its plan against them.
    used: int
    budget: int


@dataclass(frozen=True, slots=True)
class Refused:
    code: str  # "budget_exhausted"
    available: int


@dataclass(frozen=True, slots=True)
class Settled:
    charged: int
    used: int
    budget: int
    # Warning levels (policy.WARNING_LEVELS) this settle crossed for the first time.
    crossed: tuple[int, ...] = ()
    # The real usage was above the reservation (a wrong estimate); the excess is not
    # charged so the budget holds, but it is reported.
    uncharged: int = 0


@dataclass(slots=True)
class Ledger:
    budget: int
    used: int = 0
    # reply_id -> (amount, expires_at)
    holds: dict[str, tuple[int, float]] = field(default_factory=dict)
    warned: set[int] = field(default_factory=set)
    # Percent levels that warn once each (policy.WARNING_LEVELS unless a test picks others).
    levels: tuple[int, ...] = WARNING_LEVELS

    @property
    def reserved(self) -> int:
        return sum(amount for amount, _ in self.holds.values())

    def available(self) -> int:
        return max(self.budget - self.used - self.reserved, 0)

    def reclaim(self, now: float) -> int:
        """Drop expired holds (their worker died); return how many tokens came back."""
        stale = [rid for rid, (_, expires) in self.holds.items() if expires <= now]
        freed = sum(self.holds.pop(rid)[0] for rid in stale)
        return freed

    def reserve(
        self,
        reply_id: str,
        input_tokens: int,
        max_tokens: int,
        min_reply_tokens: int,
        now: float,
        ttl: float,
    ) -> Reserved | Refused:
        """Hold enough for ``input_tokens`` plus up to ``max_tokens`` of reply, lowering
        ``max_tokens`` to what is left; refuse if not even ``min_reply_tokens`` fit."""
        self.reclaim(now)
        if reply_id in self.holds:  # idempotent retry of the same reservation
            amount = self.holds[reply_id][0]
            return Reserved(reply_id, amount, amount - input_tokens, self.used, self.budget)
        available = self.available()
        if available < input_tokens + min_reply_tokens:
            return Refused("budget_exhausted", available)
        reply_tokens = min(max_tokens, available - input_tokens)
        amount = input_tokens + reply_tokens
        self.holds[reply_id] = (amount, now + ttl)
        return Reserved(reply_id, amount, reply_tokens, self.used, self.budget)

    def settle(self, reply_id: str, input_tokens: int, output_tokens: int) -> Settled:
        """Charge the real usage (capped at the hold) and release the rest. Settling a
        hold that is gone (already settled, or reclaimed) charges what still fits."""
        real = max(input_tokens, 0) + max(output_tokens, 0)
        hold = self.holds.pop(reply_id, None)
        cap = hold[0] if hold else max(self.budget - self.used - self.reserved, 0)
        charged = min(real, cap)
        self.used += charged
        crossed = self._crossings()
        return Settled(charged, self.used, self.budget, crossed, real - charged)

    def percent(self) -> float:
        """Percent of the budget used (holds not counted)."""
        return percent_spent(self.used, self.budget)

    def _crossings(self) -> tuple[int, ...]:
        crossed = levels_crossed(self.percent(), self.warned, self.levels)
        self.warned.update(crossed)
        return crossed

    def exhausted(self, next_input_tokens: int, min_reply_tokens: int) -> bool:
        """Can what is left no longer pay for the next call plus a minimal reply?"""
        return out_of_tokens(self.budget, self.used, next_input_tokens, min_reply_tokens)

    def extend(self, tokens: int) -> None:
        self.budget += tokens
        # Warnings may fire again once the extended budget is nearly spent: only the
        # levels the new percent still reaches stay warned.
        self.warned = set(levels_crossed(self.percent(), (), sorted(self.warned)))
