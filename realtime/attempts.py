"""Restarting a session: the next attempt of its series, one path for the teacher and
the student.

A restart (1) creates the next attempt in one SQL transaction that also bumps the named
attempt's version (of two racing restarts exactly one commits), (2) publishes
``session.restarted`` on the old attempt's log so every open socket (the student's and
the observers') learns the new id before the old attempt ends, (3) ends the old attempt
through the ordinary END transition if it is still open (the reply in progress stops,
the transcript flushes, the evaluation is queued: reason ``restarted``), and (4) starts
the new attempt at once when someone is there to use it (see :func:`plan_restart`).

Only the series' latest attempt may be restarted: a restart named from a stale page (an
older attempt) is refused with :class:`NotLatestAttempt` rather than silently ending the
attempt the student is in now.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass

from realtime.control import SessionControl
from realtime.events import SessionRestarted
from realtime.lifecycle import (
    IllegalTransition,
    SessionAction,
    SessionStatus,
    sources,
)
from realtime.sessionlog import SessionLog
from realtime.vocabulary import Role
from storage.db import Database
from storage.errors import Conflict
from storage.models import Session
from storage.repos import attempts as attempt_repo
from storage.repos import sessions as session_repo

__all__ = [
    "ATTEMPTS_MAX",
    "AttemptLimitReached",
    "Attempts",
    "NotLatestAttempt",
    "NotStarted",
    "RestartPlan",
    "RestartRefused",
    "Restarted",
    "plan_restart",
]

#: Attempts in one series. Each attempt spends a fresh token budget, and a student who
#: may restart could otherwise multiply the teacher's spend without end; 10 is far past
#: what a class uses (two or three tries of one interview).
ATTEMPTS_MAX = 10
#: Racing writers on the named attempt (a transition, another restart) are rare; each
#: retry re-reads, and a lost race usually ends in NotLatestAttempt at once.
MAX_TRIES = 5
#: The ``end_reason`` of an attempt a restart ended.
END_REASON = "restarted"


class RestartRefused(Exception):
    """Base of the reasons a restart is refused."""


class NotLatestAttempt(RestartRefused):
    """The named attempt is not its series' latest: restart that one instead."""

    def __init__(self, latest_id: uuid.UUID, latest_attempt: int) -> None:
        # Plain values: the row itself expires when the refused transaction rolls back.
        super().__init__(f"attempt {latest_attempt} already follows this one")
        self.latest_id = latest_id
        self.latest_attempt = latest_attempt


class NotStarted(RestartRefused):
    """The attempt never started: there is nothing to try again (start it instead)."""


class AttemptLimitReached(RestartRefused):
    """The series holds :data:`ATTEMPTS_MAX` attempts."""


@dataclass(frozen=True, slots=True)
class RestartPlan:
    #: End the current attempt first (it is still open).
    end_current: bool
    #: Start the new attempt at once (else it waits in ``created`` for the teacher).
    start_next: bool


def plan_restart(status: SessionStatus, started: bool, by: Role) -> RestartPlan:
    """What a restart of an attempt in ``status`` does. Pure.

    The new attempt starts at once when the student asks (they are on the page) or when
    the attempt it replaces is live (active or paused: the class is running); a teacher
    restarting an attempt that already ended gets one that waits for Start, so its clock
    does not run before the student is back.

    Raises :class:`NotStarted` for an attempt that never started."""
    if not started and status is SessionStatus.CREATED:
        raise NotStarted("this attempt has not started yet: start it instead")
    live = status in (SessionStatus.ACTIVE, SessionStatus.PAUSED)
    return RestartPlan(
        end_current=status in sources(SessionAction.END),
        start_next=by is Role.STUDENT or live,
    )


@dataclass(frozen=True, slots=True)
class Restarted:
    previous: Session
    next: Session


class Attempts:
    """Restarts sessions. ``log`` is the live log the restart event goes to."""

    def __init__(self, db: Database, control: SessionControl, log: SessionLog) -> None:
        self._db = db
        self._control = control
        self._log = log

    async def restart(
        self, session_id: uuid.UUID, *, by: Role, actor: str, owner_id: uuid.UUID | None
    ) -> Restarted:
        """Start the next attempt after ``session_id``; return both attempts as they
        are afterwards.

        ``owner_id`` scopes the lookup to one teacher (None: the caller authorised the
        student). Raises ``NotFound``, :class:`NotLatestAttempt`, :class:`NotStarted`,
        :class:`AttemptLimitReached`, or ``Conflict`` after repeated races. Not safe to
        cancel between the SQL commit and the end of the old attempt: the route awaits
        it whole (a request's cancellation only comes with the client leaving, and the
        old attempt is then ended by its own idle watchdog)."""
        previous, created, plan = await self._create_next(session_id, by, actor, owner_id)
        event = SessionRestarted(next_session_id=str(created.id), attempt=created.attempt)
        await self._log.publish(previous.id, [event])
        if plan.end_current:
            # Refused when it ended on its own meanwhile (expiry, the student's End).
            with contextlib.suppress(IllegalTransition, Conflict):
                await self._control.transition(
                    previous.id, SessionAction.END, actor=actor, reason=END_REASON
                )
        previous = await self._control.load(previous.id)
        if plan.start_next:
            # Refused only when the teacher started it in the same instant: it is running.
            with contextlib.suppress(IllegalTransition, Conflict):
                await self._control.transition(created.id, SessionAction.START, actor=actor)
            created = await self._control.load(created.id)
        return Restarted(previous, created)

    async def _create_next(
        self, session_id: uuid.UUID, by: Role, actor: str, owner_id: uuid.UUID | None
    ) -> tuple[Session, Session, RestartPlan]:
        for _ in range(MAX_TRIES):
            try:
                async with self._db.session() as db:
                    if owner_id is not None:
                        current = await session_repo.get_session(db, owner_id, session_id)
                    else:
                        current = await session_repo.get_session_unscoped(db, session_id)
                    chain = await attempt_repo.series(db, attempt_repo.root_of(current))
                    if chain[-1].id != current.id:
                        raise NotLatestAttempt(chain[-1].id, chain[-1].attempt)
                    status = SessionStatus(current.status)
                    plan = plan_restart(status, current.started_at is not None, by)
                    if len(chain) >= ATTEMPTS_MAX:
                        raise AttemptLimitReached(f"a session may have {ATTEMPTS_MAX} attempts")
                    created = await attempt_repo.create_next(db, current)
                    data = {"next_session_id": str(created.id), "attempt": created.attempt}
                    await session_repo.add_event(db, current.id, "restarted", actor, data)
                    origin = {"previous_session_id": str(current.id), "attempt": created.attempt}
                    await session_repo.add_event(db, created.id, "created", actor, origin)
                return current, created, plan
            except Conflict:
                continue
        raise Conflict()
