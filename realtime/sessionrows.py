"""A worker's copy of each live session's row, for the say path.

Every change to a session's row that a say depends on (status, clock, token budget) is
a transition, and every transition logs a ``status`` event once it has committed. So a
row read from SQL while the log stood at seq N stays true until a ``status`` event above
N appears: a say, which catches up with the log anyway, needs SQL only then (its first
say on this worker, and once after each pause, resume, extension or end). The token
count the row carries lags (replies settle it); the live budget and the log's budget
ticks are the current figure, and the say path takes the larger.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass

from realtime.control import SessionControl
from realtime.recentlog import Recent
from realtime.sharedread import SharedReads
from storage.models import Session

__all__ = ["SessionRows"]

#: Sessions remembered per worker (as :data:`realtime.recentlog.MAX_SESSIONS`).
MAX_SESSIONS = 1_000


@dataclass(frozen=True, slots=True)
class _Held:
    row: Session
    epoch: str
    #: The log's last seq when the row was read (caught up before the read).
    as_of: int


class SessionRows:
    def __init__(self, control: SessionControl, max_sessions: int = MAX_SESSIONS) -> None:
        self._control = control
        self._max = max_sessions
        self._rows: OrderedDict[uuid.UUID, _Held] = OrderedDict()
        self._loads: SharedReads[uuid.UUID, Session] = SharedReads()

    async def current(self, session_id: uuid.UUID, recent: Recent) -> Session:
        """The session's row as of ``recent`` (a catch-up made before this call). Raises
        ``NotFound`` as :meth:`SessionControl.load` does."""
        held = self._rows.get(session_id)
        if held is not None and _still_true(held, recent):
            self._rows.move_to_end(session_id)
            return held.row
        # Shared by the welcomes that miss together (a storm's first look: 967 loads for
        # 1,000 observers joining, up to the pool's 40 at once; now a few).
        row = await self._loads.read(session_id, lambda: self._control.load(session_id))
        self._rows[session_id] = _Held(row, recent.info.epoch, recent.info.last_seq)
        self._rows.move_to_end(session_id)
        while len(self._rows) > self._max:
            self._rows.popitem(last=False)
        return row

    def forget(self, session_id: uuid.UUID) -> None:
        self._rows.pop(session_id, None)


def _still_true(held: _Held, recent: Recent) -> bool:
    """No ``status`` logged after the row was read: the catch-up folded every event since
    (same log, folded from at or before ``as_of``) and saw no status event above it."""
    return (
        held.epoch == recent.info.epoch
        and recent.folded_after <= held.as_of <= recent.info.last_seq
        and recent.view.status_seq <= held.as_of
    )
