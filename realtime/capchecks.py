"""A worker's checks of teachers' monthly caps on the say path.

A teacher far from every cap (:meth:`realtime.quota.MonthlyCaps.far`) is trusted for
:data:`CAP_TRUST_SECONDS`, not asked of SQL on every say: fresh for the first half, and in
the second half a say uses the check and asks again once its reply has started, off the
way to the model (the sum of a month of usage costs ~3 ms on SQLite on a slow VM, and a
teacher with 25 live sessions says ~10 times a second). Near a cap every say asks SQL.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from realtime.memo import TtlMemo
from realtime.quota import CapState, cap_state
from storage.db import Database

__all__ = ["CAP_TRUST_SECONDS", "CapChecks", "LoadCaps", "sql_caps"]

log = logging.getLogger(__name__)

#: How long a check that found a teacher far from every cap is trusted: FAR_TOKENS is
#: sized so that a worker's replies cannot reach a cap within it.
CAP_TRUST_SECONDS = 1.0


#: What one check asks: the teacher's caps as SQL has them now.
LoadCaps = Callable[[uuid.UUID], Awaitable[CapState]]


def sql_caps(db: Database, default_cap: int | None) -> LoadCaps:
    """Checks against the database (one statement, see :func:`cap_state`)."""
    return lambda owner_id: cap_state(db, owner_id, default_cap, datetime.now(UTC))


class CapChecks:
    def __init__(self, load: LoadCaps, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._load = load
        fresh = CAP_TRUST_SECONDS / 2
        self._memo: TtlMemo[uuid.UUID, CapState] = TtlMemo(
            fresh, stale_for=CAP_TRUST_SECONDS - fresh, clock=clock
        )

    async def check(self, owner_id: uuid.UUID) -> CapState:
        """The teacher's caps as trusted now: a check from the last second, else SQL."""
        trusted = self._memo.usable(owner_id)
        if trusted is not None:
            return trusted
        return await self._memo.get(owner_id, lambda: self._load(owner_id), keep=_far)

    async def refresh(self, owner_id: uuid.UUID) -> None:
        """Check again if the trusted check is past its fresh half (one check at a time
        per teacher). Best effort, like the activity write: a failed check keeps nothing
        new, and once the trusted second is over the next say checks inline."""
        try:
            await self._memo.refresh(owner_id, lambda: self._load(owner_id), keep=_far)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("could not check the monthly caps of %s", owner_id, exc_info=True)


def _far(found: CapState) -> bool:
    return found.far  # near a cap: not kept, so SQL on every say
