"""Ping a pooled PostgreSQL connection at checkout only when it has sat idle.

SQLAlchemy's ``pool_pre_ping`` pings on every checkout, and asyncpg's ping is three
round trips (``BEGIN``, ``;``, ``ROLLBACK``: a transaction, so it also works behind
pgbouncer in transaction mode). In the benchmark at 25 sessions on PostgreSQL, half of
the server's transactions were these pings (125 of 251 in 10 s).

A connection used within :data:`IDLE_PING_SECONDS` is handed out unpinged: it answered
a moment ago. What a ping guards against is a connection that died while idle (a server
restart, a proxy's idle timeout). Left unpinged, a connection cut within the last second
fails its next statement once; SQLAlchemy then recreates the pool (every connection
older than the failure is replaced at its next checkout), as a failed ping does. A cut
that recent is the outage itself: statements in flight fail then anyway.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["IDLE_PING_SECONDS", "IdlePing"]

#: Under load a pooled connection is reused every fraction of a second (10 connections,
#: ~25 transactions a second in the benchmark: every 0.4 s), so at one second the pings
#: are gone where they cost and kept where a connection really sat.
IDLE_PING_SECONDS = 1.0

_USED_AT = "virtual_client_used_at"


class IdlePing:
    """Listens on ``engine``'s pool: stamps each connection when it is made and when it
    comes back, and pings it at checkout when the stamp is older than ``idle_seconds``.
    A ping that finds the connection gone replaces it and every older one (as
    ``pool_pre_ping`` does)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        idle_seconds: float = IDLE_PING_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._dialect = engine.sync_engine.dialect
        self._idle_seconds = idle_seconds
        self._clock = clock
        #: Checkouts that pinged, and pings that found the connection gone (tests read them).
        self.pings = 0
        self.dead = 0
        target = engine.sync_engine
        event.listen(target, "connect", self._stamp)
        event.listen(target, "checkin", self._stamp)
        event.listen(target, "checkout", self._checkout)

    def _stamp(self, _dbapi_connection: Any, record: Any) -> None:
        record.info[_USED_AT] = self._clock()

    def _checkout(self, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        used_at = record.info.get(_USED_AT)
        if used_at is not None and self._clock() - used_at < self._idle_seconds:
            return
        self.pings += 1
        try:
            alive = self._dialect.do_ping(dbapi_connection)
        except self._dialect.loaded_dbapi.Error as problem:
            if not self._dialect.is_disconnect(problem, dbapi_connection, None):
                raise
            alive = False
        if not alive:
            self.dead += 1
            # The pool replaces this connection and every one made before it, then
            # checks out again (SQLAlchemy's pre-ping raises the same).
            raise InvalidatePoolError()
        record.info[_USED_AT] = self._clock()
