"""What a session's budgets look like to its sockets: the ``budget`` state in ``welcome``,
the tick after each status change, the once-only time warnings, and the live ledger
brought in line with an extension. The rules themselves live in the ledger and
:mod:`realtime.budgets.policy`."""

from __future__ import annotations

from realtime.budgets import BudgetStore
from realtime.control import SessionControl
from realtime.events import BudgetEvent, BudgetState
from realtime.sessionlog import SessionLog
from realtime.vocabulary import BudgetWarning
from storage.models import Session

__all__ = ["BudgetReport"]

#: Longer than any session: a time warning's once-only claim must not lapse and repeat.
WARNING_CLAIM_SECONDS = 86_400.0


class BudgetReport:
    def __init__(self, budgets: BudgetStore, log: SessionLog, control: SessionControl) -> None:
        self._budgets = budgets
        self._log = log
        self._control = control

    async def state(self, session: Session) -> BudgetState:
        sid = str(session.id)
        snap = await self._budgets.ensure(sid, session.token_budget, session.tokens_used)
        return BudgetState(
            tokens_used=snap.used,
            token_budget=snap.budget,
            seconds_left=self._control.seconds_left(session),
        )

    async def event(self, session: Session) -> BudgetEvent:
        state = await self.state(session)
        return BudgetEvent(**state.model_dump())

    async def time_warning(self, session: Session, percent: int) -> None:
        """Publish the time warning for ``percent`` once per session, whichever watchdog
        (or how many) notices first."""
        claim = f"warn:time:{percent}"
        if await self._log.backend.claim_once(str(session.id), claim, WARNING_CLAIM_SECONDS):
            tick = await self.event(session)
            low = {"warning": BudgetWarning.TIME_LOW, "percent": percent}
            await self._log.publish(session.id, [tick.model_copy(update=low)])

    async def extended(self, session: Session) -> None:
        """Raise the live budget to an extended session's new token budget."""
        sid = str(session.id)
        snap = await self._budgets.ensure(sid, session.token_budget, session.tokens_used)
        if session.token_budget > snap.budget:
            await self._budgets.extend(sid, session.token_budget - snap.budget)
