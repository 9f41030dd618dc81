"""Session state changes, one path for the API, the socket and the watchdog.

A transition reads the row, checks the lifecycle table, writes the new status and time
bookkeeping with an optimistic version check, and records the audit event in the same
SQL transaction. Racing callers (two watchdogs, a teacher and a student) cannot both
apply a transition: the loser re-reads and gets :class:`IllegalTransition`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from realtime.lifecycle import (
    AUDIT_KIND,
    TERMINAL,
    IllegalTransition,
    SessionAction,
    SessionStatus,
    apply,
)
from realtime.timekeeping import ActiveClock, transition_values
from storage.db import Database
from storage.errors import Conflict, NotFound
from storage.models import Session
from storage.repos import sessions as session_repo

# Racing writers are rare (a person and a watchdog); 5 re-reads is plenty.
MAX_ATTEMPTS = 5

#: Called before a session becomes terminal (cancel the reply, flush the live log).
BeforeTerminal = Callable[[uuid.UUID], Awaitable[None]]
#: Called after a transition committed (publish ``status`` and ``budget`` events).
AfterTransition = Callable[[Session, SessionAction, str | None], Awaitable[None]]


#: Who the audit trail names when a budget ends a session.
BUDGET_ACTOR = "system:budget"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Timed(Protocol):
    """What a session's active clock is read from: its row, or the watchdog's columns."""

    @property
    def time_limit_seconds(self) -> int: ...
    @property
    def active_seconds(self) -> float: ...
    @property
    def active_since(self) -> datetime | None: ...


def clock_of(session: Timed) -> ActiveClock:
    return ActiveClock(session.time_limit_seconds, session.active_seconds, session.active_since)


class SessionControl:
    def __init__(self, db: Database, now: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._now = now
        self.before_terminal: list[BeforeTerminal] = []
        self.after_transition: list[AfterTransition] = []

    async def transition(
        self,
        session_id: uuid.UUID,
        action: SessionAction,
        *,
        actor: str,
        owner_id: uuid.UUID | None = None,
        reason: str | None = None,
        add_seconds: int = 0,
        add_tokens: int = 0,
        data: dict[str, Any] | None = None,
    ) -> Session:
        """Apply ``action``; return the updated session.

        ``owner_id`` scopes the lookup to one teacher (None: caller authorised otherwise).
        Raises ``NotFound``, ``IllegalTransition``, or ``Conflict`` after repeated races.
        """
        for _ in range(MAX_ATTEMPTS):
            async with self._db.session() as db:
                session = await self._load(db, session_id, owner_id)
                to = apply(action, SessionStatus(session.status))
            if to in TERMINAL:
                await self._before_terminal(session_id)
            try:
                session = await self._write(
                    session_id,
                    session.version,
                    action,
                    to,
                    actor,
                    reason,
                    add_seconds,
                    add_tokens,
                    data,
                )
            except Conflict:
                continue
            for hook in self.after_transition:
                await hook(session, action, reason)
            return session
        raise Conflict()

    async def load(self, session_id: uuid.UUID) -> Session:
        """The session's row. Raises ``NotFound``. Safe to cancel (the read is shielded)."""
        return await self._db.read(lambda db: session_repo.get_session_unscoped(db, session_id))

    def seconds_left(self, session: Session | ActiveClock) -> float:
        """Active time left now, as every event and snapshot reports it (0.1 s), by the
        session's row or a clock taken from it."""
        clock = session if isinstance(session, ActiveClock) else clock_of(session)
        return round(clock.seconds_left(self._now()), 1)

    async def expire(self, session_id: uuid.UUID, reason: str, *, actor: str) -> bool:
        """Expire the session unless it already left the live states (another watchdog,
        the teacher, a racing reply got there first). True if this call expired it."""
        try:
            await self.transition(session_id, SessionAction.EXPIRE, actor=actor, reason=reason)
        except (IllegalTransition, Conflict, NotFound):
            return False
        return True

    async def _before_terminal(self, session_id: uuid.UUID) -> None:
        for hook in self.before_terminal:
            await hook(session_id)

    async def _load(self, db: Any, session_id: uuid.UUID, owner_id: uuid.UUID | None) -> Session:
        if owner_id is not None:
            return await session_repo.get_session(db, owner_id, session_id)
        return await session_repo.get_session_unscoped(db, session_id)

    async def _write(
        self,
        session_id: uuid.UUID,
        version: int,
        action: SessionAction,
        to: SessionStatus,
        actor: str,
        reason: str | None,
        add_seconds: int,
        add_tokens: int,
        data: dict[str, Any] | None,
    ) -> Session:
        now = self._now()
        async with self._db.session() as db:
            session = await session_repo.get_session_unscoped(db, session_id)
            if session.version != version:
                raise Conflict()
            values = transition_values(
                action, to, clock_of(session), now, reason=reason, add_seconds=add_seconds
            )
            if add_tokens:
                values["token_budget"] = session.token_budget + add_tokens
            await session_repo.update_if_version(db, session_id, version, values)
            event_data = dict(data or {})
            if reason:
                event_data["reason"] = reason
            await session_repo.add_event(
                db, session_id, AUDIT_KIND[action], actor, event_data, at=now
            )
        async with self._db.session() as db:
            return await session_repo.get_session_unscoped(db, session_id)
