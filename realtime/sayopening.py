"""A say's opening (on its way to the model, before anything is stored): take the
session's reply lock, catch this worker up with the log under it, and claim the say's
``client_id`` so a retried say is stored once. On Redis a worker that knows the session
does all three in one script (``open_say``), the first of a warm say's round trips.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from realtime.backends.base import Event, SayClaim, SayOpening
from realtime.config import RealtimeConfig
from realtime.eventlog import LogInfo
from realtime.recentlog import Recent, RecentLog
from realtime.sessionlog import SessionLog, is_repair
from realtime.sessionview import Said, SessionView

__all__ = ["REPAIR_WAIT_SECONDS", "SayOpener"]

#: How long a say waits for an orphan repair to let go of the reply lock before it is
#: refused. A repair holds it for a few round trips (a read of the newest events, the
#: ends it appends, the release): milliseconds, tens under load. The student sees the
#: cut reply's end as soon as it is appended, before the release, and says again at
#: once: refusing that say (as CI's worker-kill test saw) is the repair's fault, not a
#: reply in progress. 1 s is far past a repair and far below the 3 s lease a dead
#: repairing worker would leave.
REPAIR_WAIT_SECONDS = 1.0
#: The first pause between looks at the lock, doubled up to the last.
_REPAIR_POLL_SECONDS = (0.005, 0.05)


class SayOpener:
    """One per worker, beside the hub."""

    def __init__(self, log: SessionLog, recent: RecentLog, config: RealtimeConfig) -> None:
        self._log = log
        self._recent = recent
        self._config = config

    async def open(
        self, session_id: uuid.UUID, reply_id: str, client_id: str
    ) -> tuple[Recent, str | None] | None:
        """Take the reply lock, catch up with the log under it and claim the say (the
        claim's answer, see :meth:`already_said`); None when a reply holds the lock.
        One round trip when this worker knows the session (``open_say``), else three."""
        sid, backend = str(session_id), self._log.backend
        claim = SayClaim(_claim_key(client_id), self._config.say_dedupe_seconds)
        openings: list[SayOpening] = []

        async def read(after: int) -> tuple[LogInfo, list[Event]] | None:
            lease = self._config.reply_lock_seconds
            openings.append(await backend.open_say(sid, reply_id, lease, after, claim))
            return openings[0].since

        taken = False
        try:
            if self._recent.known_seq(session_id) is not None:
                recent = await self._recent.catch_up(session_id, read)
                taken = bool(openings) and openings[0].acquired
                if taken:
                    return recent, openings[0].recorded
                if not await self.acquire(session_id, reply_id, tried=bool(openings)):
                    return None
            elif not await self.acquire(session_id, reply_id):
                return None
            # The lock taken on its own: the log read under it, then the claim.
            taken = True
            recent = await self._recent.catch_up(session_id)
            return recent, await backend.claim(sid, claim.key, claim.ttl)
        except BaseException:
            # Failed (or cancelled) holding the lock: give it back, as the say would.
            if taken or (openings and openings[0].acquired):
                await backend.release_reply(sid, reply_id)
            raise

    async def acquire(self, session_id: uuid.UUID, reply_id: str, *, tried: bool = False) -> bool:
        """Take the session's reply lock (``tried``: a first attempt found it held). A
        holder whose end is already in the log has only its lock left to release (its
        budget is settled before its end is logged): a say right after ``reply.done``
        must not be refused for that moment, so such a lock is released here
        (compare-and-delete: only that reply's) and taken. An orphan repair's hold is
        waited out (:data:`REPAIR_WAIT_SECONDS`)."""
        sid, backend, lease = str(session_id), self._log.backend, self._config.reply_lock_seconds
        if not tried and await backend.acquire_reply(sid, reply_id, lease):
            return True
        holder = await backend.current_reply(sid)
        if holder is not None and is_repair(holder):
            holder = await self._after_repair(sid, holder)
        if holder is None:
            return await backend.acquire_reply(sid, reply_id, lease)
        if is_repair(holder):
            return False
        if not (await self._recent.catch_up(session_id)).view.has_ended(holder):
            return False
        await backend.release_reply(sid, holder)
        return await backend.acquire_reply(sid, reply_id, lease)

    async def _after_repair(self, sid: str, repair: str) -> str | None:
        """The reply lock's holder once no orphan repair holds it (None: free), or a
        repair still, past :data:`REPAIR_WAIT_SECONDS`. The lock has no release notice to
        wait on, so it is looked at again at growing intervals (at most ~20 looks)."""
        backend = self._log.backend
        holder: str | None = repair
        deadline = time.monotonic() + REPAIR_WAIT_SECONDS
        pause, longest = _REPAIR_POLL_SECONDS
        while holder is not None and is_repair(holder) and time.monotonic() < deadline:
            await asyncio.sleep(pause)
            pause = min(pause * 2, longest)
            holder = await backend.current_reply(sid)
        return holder

    async def already_said(
        self, sid: str, client_id: str, view: SessionView, recorded: str | None
    ) -> bool:
        """Whether a say with ``client_id`` was stored before, from what its claim held
        (``recorded``, taken under the reply lock, so no other say of this session is in
        flight): a claim without a recorded result means an earlier attempt died, either
        before its append (say it now) or right after it (the message is in the recent
        log: record it, say nothing)."""
        if recorded is None:
            return False  # claimed now: a first attempt
        if recorded:
            return True
        said = view.said.get(client_id)
        if said is not None:
            await self.record(sid, client_id, said)
            return True
        return False

    async def record(self, sid: str, client_id: str, said: Said) -> None:
        """Record where the say with ``client_id`` landed, for its retries."""
        await self._log.backend.record_claim(sid, _claim_key(client_id), said.claim)


def _claim_key(client_id: str) -> str:
    return f"say:{client_id}"
