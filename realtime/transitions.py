"""What the live log does around a session's state changes, for every process that can
change one (web, watchdog): before it ends, stop the running reply on whichever worker
streams it and wait (bounded) for its end to be logged, so the transcript is whole
before the session is marked ended; after any change, publish ``status`` and a budget
tick (and raise the live budget after an extension)."""

from __future__ import annotations

import uuid

from realtime.budgetreport import BudgetReport
from realtime.events import StatusEvent
from realtime.lifecycle import SessionAction, SessionStatus
from realtime.sessionlog import SessionLog
from realtime.vocabulary import Role
from storage.models import Session

__all__ = ["TransitionHooks"]


class TransitionHooks:
    def __init__(self, log: SessionLog, report: BudgetReport, stop_grace_seconds: float) -> None:
        self._log = log
        self._report = report
        self._grace = stop_grace_seconds

    async def before_terminal(self, session_id: uuid.UUID) -> None:
        reply_id = await self._log.backend.current_reply(str(session_id))
        if reply_id is None:
            return
        _, view = await self._log.view(session_id)
        if view.open_reply(reply_id) is None:
            # A say still preparing holds the lock: it may give up (nothing to wait for)
            # or start its reply, whose runner hears the end in the log and stops at once.
            return
        await self._log.request_stop(session_id, reply_id, Role.TEACHER)
        # Open as of the view: its end can only come after it (one read of the log).
        await self._log.wait_ended(session_id, reply_id, self._grace, after=view.last_seq)

    async def after_transition(
        self, session: Session, action: SessionAction, reason: str | None
    ) -> None:
        if action is SessionAction.EXTEND:
            await self._report.extended(session)
        status = StatusEvent(status=SessionStatus(session.status), reason=reason)
        await self._log.publish(session.id, [status, await self._report.event(session)])
