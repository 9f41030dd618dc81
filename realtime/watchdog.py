"""The watchdog: expires sessions whose active time ran out, that sat idle too long, or
whose tokens can no longer pay for a minimal reply.

State lives in SQL (``deadline_at``, ``last_activity_at``) and the budget store, not in
the watchdog, so several watchdogs may run at once and a restarted one picks up where
it was: a deadline that passed while none ran is found on the first scan. Expiry goes
through :class:`SessionControl`, whose version check makes it happen exactly once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from realtime.budgets import BudgetStore
from realtime.budgets.policy import WARNING_LEVELS, levels_crossed, out_of_tokens, time_percent
from realtime.control import SessionControl, clock_of, utcnow
from realtime.metrics import NULL_OBSERVER, Observer
from realtime.nap import nap
from storage.db import Database
from storage.models import Session
from storage.repos import sessions as session_repo

log = logging.getLogger(__name__)

ACTOR = "system:watchdog"

#: Publishes the (once per session and level) "time is running low" warning.
TimeWarning = Callable[[Session, int], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class WatchdogPolicy:
    # Scan at least this often: expiry is at most this late (plus one scan's time).
    interval_seconds: float = 0.5
    # No student activity for this long ends an active session (reason "idle").
    idle_seconds: float = 900.0
    # What a reply needs at the least; below it the session expires (reason "tokens").
    min_reply_tokens: int = 50
    # Sessions handled per scan and reason; the next scan takes the rest.
    batch: int = 200


class Watchdog:
    def __init__(
        self,
        db: Database,
        control: SessionControl,
        budgets: BudgetStore,
        policy: WatchdogPolicy,
        warn: TimeWarning | None = None,
        now: Callable[[], datetime] = utcnow,
        observer: Observer = NULL_OBSERVER,
    ) -> None:
        self._observer = observer
        self._warn = warn
        # (session, level) pairs already warned by this process: skips the shared
        # once-only claim on every scan.
        self._warned: set[tuple[uuid.UUID, int]] = set()
        self._db = db
        self._control = control
        self._budgets = budgets
        self._policy = policy
        self._now = now

    async def scan(self) -> list[tuple[uuid.UUID, str]]:
        """One pass; returns the sessions this watchdog expired, with the reason."""
        now = self._now()
        expired: list[tuple[uuid.UUID, str]] = []
        async with self._db.session() as db:
            overdue = await session_repo.due_for_expiry(db, now, self._policy.batch)
            idle = await self._idle(db, now)
            active = await self._active(db)
        for session_id in overdue:
            if await self._expire(session_id, "time"):
                expired.append((session_id, "time"))
        for session_id in idle:
            if await self._expire(session_id, "idle"):
                expired.append((session_id, "idle"))
        for session in active:
            if await self._out_of_tokens(session.id) and await self._expire(session.id, "tokens"):
                expired.append((session.id, "tokens"))
            else:
                await self._time_warnings(session, now)
        return expired

    async def _time_warnings(self, session: Session, now: datetime) -> None:
        if self._warn is None:
            return
        warned = {level for level in WARNING_LEVELS if (session.id, level) in self._warned}
        for level in levels_crossed(time_percent(clock_of(session), now), warned, WARNING_LEVELS):
            await self._warn(session, level)
            self._warned.add((session.id, level))

    async def _idle(self, db: AsyncSession, now: datetime) -> list[uuid.UUID]:
        cutoff = now - timedelta(seconds=self._policy.idle_seconds)
        query = (
            select(Session.id)
            .where(Session.status == "active", Session.last_activity_at <= cutoff)
            .limit(self._policy.batch)
        )
        result = await db.execute(query)
        return list(result.scalars())

    async def _active(self, db: AsyncSession) -> list[Session]:
        query = select(Session).where(Session.status == "active").limit(self._policy.batch)
        result = await db.execute(query)
        return list(result.scalars())

    async def _out_of_tokens(self, session_id: uuid.UUID) -> bool:
        try:
            snapshot = await self._budgets.snapshot(str(session_id))
        except KeyError:
            return False  # no reply yet on any worker: nothing spent
        # The watchdog does not know the next input, so it asks with 0, the lower bound:
        # it only expires a session no next call could pay for, never one the reply
        # path (which adds the real input estimate) would still let go on.
        return out_of_tokens(snapshot.budget, snapshot.used, 0, self._policy.min_reply_tokens)

    async def _expire(self, session_id: uuid.UUID, reason: str) -> bool:
        expired = await self._control.expire(session_id, reason, actor=ACTOR)
        if expired:
            self._observer.session_expired(reason)
            log.info("expired session %s (%s)", session_id, reason)
        return expired

    async def run(self, stop: asyncio.Event) -> None:
        """Scan until ``stop`` is set; a scan in progress finishes first, so shutdown
        never abandons a database call half-way. Cancelling is also safe: a scan
        interrupted mid-way leaves every session either untouched or fully expired."""
        while not stop.is_set():
            try:
                await self.scan()
            except asyncio.CancelledError:
                raise
            except Exception:
                # A database blip must not kill the watchdog; the next scan retries.
                log.exception("watchdog scan failed")
            await nap(stop, self._policy.interval_seconds)
