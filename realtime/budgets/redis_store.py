"""Budget ledgers in Redis: each operation is one Lua script call (one round trip).

Keys carry the ``{session_id}`` hash tag so a session's keys share a Cluster slot.
Fail-closed: if Redis is unreachable, ``reserve`` raises and the caller refuses the
reply; we never let a student spend tokens we cannot account for.

The warning levels are arguments of ``settle.lua`` / ``extend.lua`` (from
:mod:`realtime.budgets.policy`), so no Lua script spells a level; the scripts that read
holds share ``_holds.lua``, and those that read levels share ``_levels.lua``.

A worker's script calls go on a connection of their own that writes each call as it is
made (:class:`realtime.backends.redis_scripts.ScriptPipe`, given by
:func:`realtime.budgets.make_budget_store` on a standalone Redis): 36.5 us of the worker's
CPU a call against 96 us through redis-py's pool (4,000 calls one at a time), and no
pooled connection held by a say's reservation. Without one (tests, Redis Cluster) each
call is an ``EVALSHA`` through the client.

``snapshot_many`` (the watchdog's look at every active session) sends the snapshot script
for a page of sessions at once on that connection
(:meth:`~realtime.backends.redis_scripts.ScriptPipe.run_many`); without one it runs the
script once per session (see
:func:`realtime.backends.redis_pool.pipelines_many_sessions`)."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any

from realtime.backends.redis_scripts import DirectScripts, Scripts
from realtime.budgets.ledger import Refused, Reserved, Settled
from realtime.budgets.policy import WARNING_LEVELS
from realtime.budgets.store import RESERVATION_TTL_SECONDS, BudgetSnapshot, BudgetStart

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster

# How long a budget outlives its last change: longer than any session (3 h max) plus
# a margin, so an abandoned session's counters clean themselves up.
BUDGET_KEY_TTL_SECONDS = 7 * 24 * 3600


def _lua(*names: str) -> str:
    """The scripts ``names`` joined in order: shared helpers first, then the body."""
    pkg = resources.files("realtime.budgets")
    return "\n".join(pkg.joinpath(f"{name}.lua").read_text("utf-8") for name in names)


def _snapshot_of(result: list[Any]) -> BudgetSnapshot | None:
    """The snapshot script's answer: ``{budget, used, reserved}``, or ``{-1}`` (``None``)
    for a session never set up."""
    if int(result[0]) == -1:
        return None
    return BudgetSnapshot(int(result[0]), int(result[1]), int(result[2]))


class RedisBudgetStore:
    def __init__(
        self,
        redis: Redis | RedisCluster,
        prefix: str = "vc",
        ttl: float = RESERVATION_TTL_SECONDS,
        levels: Sequence[int] = WARNING_LEVELS,
        scripts: Scripts | None = None,
    ) -> None:
        """``scripts`` runs the ledger's scripts (closed with the store; None: one
        ``EVALSHA`` per call through ``redis``)."""
        self._redis = redis
        self._scripts: Scripts = DirectScripts() if scripts is None else scripts
        self._prefix = prefix
        self._ttl = ttl
        # Passed to settle.lua / extend.lua as ARGV: how many, then the levels.
        self._levels_args = [len(levels), *levels]
        self._reserve = redis.register_script(_lua("_holds", "_set_up", "reserve"))
        self._settle = redis.register_script(_lua("_holds", "_levels", "settle"))
        self._extend = redis.register_script(_lua("_levels", "extend"))
        self._snapshot = redis.register_script(_lua("_holds", "snapshot"))
        self._ensure = redis.register_script(_lua("_holds", "_set_up", "ensure", "snapshot"))

    def _keys(self, session_id: str) -> list[str]:
        base = f"{self._prefix}:{{{session_id}}}"
        return [f"{base}:budget", f"{base}:holds", f"{base}:holdamt"]

    async def ensure(self, session_id: str, budget: int, used: int) -> BudgetSnapshot:
        result: list[Any] = await self._scripts.run(
            self._ensure, self._keys(session_id), [budget, used, BUDGET_KEY_TTL_SECONDS]
        )
        return BudgetSnapshot(int(result[0]), int(result[1]), int(result[2]))

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
        args: list[str | int | float] = [
            reply_id,
            input_tokens,
            max_tokens,
            min_reply_tokens,
            self._ttl,
        ]
        if start is not None:
            args += [start.budget, start.used, BUDGET_KEY_TTL_SECONDS]
        result: list[Any] = await self._scripts.run(self._reserve, self._keys(session_id), args)
        status = int(result[0])
        if status == -1:
            raise KeyError(session_id)
        if status == 0:
            return Refused("budget_exhausted", int(result[1]))
        amount, max_tokens, used, budget = (int(value) for value in result[1:5])
        return Reserved(reply_id, amount, max_tokens, used, budget)

    async def settle(
        self, session_id: str, reply_id: str, input_tokens: int, output_tokens: int
    ) -> Settled:
        result: list[Any] = await self._scripts.run(
            self._settle,
            self._keys(session_id),
            [reply_id, input_tokens, output_tokens, *self._levels_args],
        )
        if int(result[0]) == -1:
            raise KeyError(session_id)
        charged, used, budget, uncharged, crossed = result
        return Settled(
            int(charged),
            int(used),
            int(budget),
            tuple(int(level) for level in crossed),
            int(uncharged),
        )

    async def snapshot(self, session_id: str) -> BudgetSnapshot:
        found = _snapshot_of(await self._scripts.run(self._snapshot, self._keys(session_id), []))
        if found is None:
            raise KeyError(session_id)
        return found

    async def snapshot_many(self, session_ids: Sequence[str]) -> list[BudgetSnapshot | None]:
        """Raises what redis-py raises (Redis unreachable: a connection error)."""
        calls = [(self._keys(session_id), ()) for session_id in session_ids]
        return [_snapshot_of(a) for a in await self._scripts.run_many(self._snapshot, calls)]

    async def extend(self, session_id: str, tokens: int) -> None:
        result = await self._scripts.run(
            self._extend, self._keys(session_id)[:1], [tokens, *self._levels_args]
        )
        if int(result) == -1:
            raise KeyError(session_id)

    async def forget(self, session_id: str) -> None:
        await self._redis.delete(*self._keys(session_id))

    async def aclose(self) -> None:
        """Close the script connection (calls in flight are answered first, briefly)."""
        await self._scripts.aclose()
