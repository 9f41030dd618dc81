"""The watchdog: expires sessions whose active time ran out, that sat idle too long, or
whose tokens can no longer pay for a minimal reply.

State lives in SQL (``deadline_at``, ``last_activity_at``) and the budget store, not in
the watchdog, so several watchdogs may run at once and a restarted one picks up where
it was: a deadline that passed while none ran is found on the first scan. Expiry goes
through :class:`SessionControl`, whose version check makes it happen exactly once. Of
several, only the holder of the deployment's watchdog duty scans (:mod:`realtime.duty`).

A scan visits every active session, ``batch`` at a time (keyset pages by id). Per page:
one SQL query loads the sessions; those past their deadline expire ("time"), then those
idle too long ("idle"), both told from the loaded rows; the rest have their budgets read
in one ``snapshot_many`` (one Redis round trip on a standalone Redis, not one per
session) and expire if out of tokens ("tokens"), else get their time warnings. A session
is handled for one reason per scan. So 25 active sessions cost one SQL query and one
Redis round trip a scan, and 1,000 cost five of each.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from realtime.budgets import BudgetSnapshot, BudgetStore
from realtime.budgets.policy import WARNING_LEVELS, levels_crossed, out_of_tokens, time_percent
from realtime.control import SessionControl, clock_of, utcnow
from realtime.duty import Duty
from realtime.metrics import NULL_OBSERVER, Observer
from realtime.nap import nap
from storage.db import Database
from storage.errors import NotFound
from storage.models import Session
from storage.repos import sessions as session_repo
from storage.repos.sessions import ActiveTimes

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
    # Active sessions per page of a scan (one SQL query and one snapshot_many each):
    # bounds the rows held at once; a scan goes on, page by page, until it saw them all.
    batch: int = 200


def _reached(at: datetime | None, when: datetime) -> bool:
    """``at <= when`` as the SQL query had it: a NULL ``at`` never is (a comparison with
    NULL is not true). The columns read back UTC-aware on SQLite and PostgreSQL alike
    (storage.types.UTCDateTime), as ``now`` is, so the two compare."""
    return at is not None and at <= when


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
        duty: Duty | None = None,
    ) -> None:
        self._observer = observer
        #: Shared with the deployment's other watchdogs: only its holder's loop scans
        #: (None: this loop always does).
        self.duty = duty
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
        """One pass over every active session, page by page; returns the sessions this
        watchdog expired, with the reason. Raises what the database or the budget store
        raise (the pages before stay handled)."""
        now = self._now()
        expired: list[tuple[uuid.UUID, str]] = []
        after: uuid.UUID | None = None
        while True:
            async with self._db.session() as db:
                page = await session_repo.active_page(db, after, self._policy.batch)
            expired += await self._check(page, now)
            if len(page) < self._policy.batch:
                return expired
            # Every page in one scan, not one page a scan: that would make a deadline up
            # to ceil(n / batch) scans late, past the promised 1 s once n passes batch.
            after = page[-1].id

    async def _check(self, page: list[ActiveTimes], now: datetime) -> list[tuple[uuid.UUID, str]]:
        """Time expiry first, then idleness, then tokens and time warnings for the rest."""
        idle_since = now - timedelta(seconds=self._policy.idle_seconds)
        overdue: list[ActiveTimes] = []
        idle: list[ActiveTimes] = []
        rest: list[ActiveTimes] = []
        for session in page:
            if _reached(session.deadline_at, now):
                overdue.append(session)
            elif _reached(session.last_activity_at, idle_since):
                idle.append(session)
            else:
                rest.append(session)
        expired: list[tuple[uuid.UUID, str]] = []
        for reason, due in (("time", overdue), ("idle", idle)):
            for session in due:
                if await self._expire(session.id, reason):
                    expired.append((session.id, reason))
        snapshots = await self._budgets.snapshot_many([str(s.id) for s in rest])
        for session, snapshot in zip(rest, snapshots, strict=True):
            if self._out_of_tokens(snapshot) and await self._expire(session.id, "tokens"):
                expired.append((session.id, "tokens"))
            else:
                await self._time_warnings(session, now)
        return expired

    async def _time_warnings(self, times: ActiveTimes, now: datetime) -> None:
        if self._warn is None:
            return
        warned = {level for level in WARNING_LEVELS if (times.id, level) in self._warned}
        crossed = levels_crossed(time_percent(clock_of(times), now), warned, WARNING_LEVELS)
        if not crossed:
            return
        try:
            session = await self._control.load(times.id)  # the row, only for a warning
        except NotFound:
            return  # deleted since the page was read
        for level in crossed:
            await self._warn(session, level)
            self._warned.add((times.id, level))

    def _out_of_tokens(self, snapshot: BudgetSnapshot | None) -> bool:
        if snapshot is None:
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
                if self.duty is None or await self.duty.take(self._policy.interval_seconds):
                    await self.scan()
            except asyncio.CancelledError:
                raise
            except Exception:
                # A database blip must not kill the watchdog; the next scan retries.
                log.exception("watchdog scan failed")
            await nap(stop, self._policy.interval_seconds)
        if self.duty is not None:
            await self.duty.give_up()
