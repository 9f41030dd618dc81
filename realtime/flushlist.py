"""Which sessions a flusher looks at: those not yet ended and those ended in the last
``ended_window_seconds`` (a reply that outlived the end's grace period logs its end
afterwards), listed from SQL ``sessions_per_scan`` at a time (keyset pages, so all get
their turn).

While its process serves no socket, a listing that held them all in one page stands for
``list_seconds``: the scans in between look at the same sessions without asking SQL.
Listing on every 0.25 s scan, four queries a second on every worker, was the largest part
of an idle worker's CPU (18 ms/s, 12 without it). While sockets are open, every scan
lists, so the flusher's lag report counts a session as soon as it streams anywhere (every
worker's ``/readyz`` shows what waits in a database outage). :meth:`SessionListing.stale`
makes the next call list again: the flusher calls it on a start or end in its process.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from realtime.flushpolicy import FlusherPolicy
from storage.db import Database
from storage.repos import flushing as flush_repo

__all__ = ["SessionListing"]


class SessionListing:
    def __init__(
        self,
        db: Database,
        policy: FlusherPolicy,
        *,
        now: Callable[[], datetime],
        clock: Callable[[], float],
    ) -> None:
        self._db = db
        self._policy = policy
        self._now = now
        self._clock = clock
        #: Whether this process serves sockets now (the composition sets it where it does).
        self.serving: Callable[[], bool] = lambda: False
        self._cursor: uuid.UUID | None = None
        #: The sessions listed last (what a scan falls back on when SQL is down).
        self.known: list[uuid.UUID] = []
        #: When the last whole listing stops standing for all (monotonic; 0: list now).
        self._listed_until = 0.0

    def stale(self) -> None:
        """List again at the next call."""
        self._listed_until = 0.0

    async def next(self) -> tuple[list[uuid.UUID], bool]:
        """The sessions to look at now, and whether they complete a pass over all of them
        (the last page, or a whole listing still standing). Raises what SQL raises."""
        listed_at = self._clock()
        if listed_at < self._listed_until and not self.serving():
            return list(self.known), True
        since = self._now() - timedelta(seconds=self._policy.ended_window_seconds)
        limit = self._policy.sessions_per_scan
        first_page = self._cursor is None
        async with self._db.session() as db:
            ids = await flush_repo.sessions_to_flush(db, since, self._cursor, limit)
        self._cursor = ids[-1] if len(ids) == limit else None
        if first_page and self._cursor is None:
            # One page held them all: it stands for the list a while. Past one page,
            # every call lists its page.
            self._listed_until = listed_at + self._policy.list_seconds
        self.known = ids
        return ids, self._cursor is None
