"""Who is on a session's sockets: each connection's entry in the backend, refreshed by the
process's heartbeat (:mod:`realtime.heartbeat`; entries of a dead worker lapse after their
TTL), and ``presence`` events when the counts change.

Presence is advisory: a store blip while announcing is logged, never fatal to a socket.

Announcements of a session are spaced: the first goes out at once, and those asked for
within ``spacing`` of it merge into one made when the spacing is up (a trailing one, so
the last counts are always announced). Each announcement is a frame to every socket of
the session: 1,000 observers joining one session at once asked for 1,000 announcements,
~500,000 frames. Merging only the requests made while an announcement was in flight
merged some on Redis (a round trip each) and none in-process, where announcing does not
wait: the storm took 11-12 s of that server's CPU.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from realtime.control import SessionControl
from realtime.events import Presence, PresenceEvent
from realtime.lifecycle import TERMINAL, SessionStatus
from realtime.sessionlog import SessionLog
from realtime.vocabulary import Role

log = logging.getLogger(__name__)

__all__ = ["ANNOUNCE_SPACING", "PresenceBoard"]

#: Seconds between two announcements of one session: a joiner waits at most this long to
#: see itself counted, and a storm costs at most four announcements a second.
ANNOUNCE_SPACING = 0.25


class PresenceBoard:
    """Announces each session's counts, spaced (see the module docstring). With
    ``spacing`` 0 only the requests made while an announcement is in flight merge, and
    the caller that made it repeats it; otherwise a task per session repeats it, so an
    announcing caller waits for its own announcement only. :meth:`aclose` ends those
    tasks; later requests are announced as if the spacing were 0."""

    def __init__(
        self,
        log: SessionLog,
        control: SessionControl,
        ttl_seconds: float,
        *,
        spacing: float = ANNOUNCE_SPACING,
    ) -> None:
        self._log = log
        self._control = control
        self._ttl = ttl_seconds
        self._spacing = spacing
        #: Sessions being announced or spaced; the value is None until someone asks again
        #: meanwhile, then whether every caller since knew the session live.
        self._asked: dict[uuid.UUID, bool | None] = {}
        self._spacers: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._closed = False

    async def touch(self, session_id: uuid.UUID, conn_id: str, role: Role) -> Presence:
        """Mark a connection alive for the TTL; returns the counts now."""
        return await self._log.backend.presence_touch(str(session_id), conn_id, role, self._ttl)

    async def leave(self, session_id: uuid.UUID, conn_id: str, *, live: bool = False) -> None:
        """Forget a connection and announce the new counts. Never raises but cancellation."""
        try:
            await self._log.backend.presence_leave(str(session_id), conn_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("presence cleanup failed for %s", session_id, exc_info=True)
            return
        await self.announce(session_id, live=live)

    async def forget(self, session_id: uuid.UUID, conn_id: str) -> None:
        """Forget a connection without announcing (the heartbeat's touch raced its leave).
        Raises BackendUnavailable."""
        await self._log.backend.presence_leave(str(session_id), conn_id)

    async def current(self, session_id: uuid.UUID) -> Presence:
        return await self._log.backend.presence(str(session_id))

    async def announce(self, session_id: uuid.UUID, *, live: bool = False) -> None:
        """Publish who is here while the session is live (after its end, appends would
        keep its Redis keys from expiring), counted after this call began: at once, or,
        when an announcement was made or begun less than the spacing ago, once that is
        up. ``live``: the caller just read the session's row and found it live (a
        socket's handshake), so SQL need not be asked again. Never raises but
        cancellation."""
        if session_id in self._asked:
            asked = self._asked[session_id]
            self._asked[session_id] = live if asked is None else asked and live
            return
        self._asked[session_id] = None
        try:
            await self._announce_once(session_id, live)
        except BaseException:
            self._asked.pop(session_id, None)
            raise
        if self._spacing > 0 and not self._closed:
            self._spacers[session_id] = asyncio.create_task(
                self._repeat_while_asked(session_id, self._spacing),
                name=f"presence spacing {session_id}",
            )
        else:
            await self._repeat_while_asked(session_id, 0)

    async def _repeat_while_asked(self, session_id: uuid.UUID, spacing: float) -> None:
        try:
            while True:
                if spacing > 0:
                    await asyncio.sleep(spacing)
                live = self._asked.get(session_id)
                if live is None:
                    return
                self._asked[session_id] = None
                await self._announce_once(session_id, live)
        finally:
            self._asked.pop(session_id, None)
            if spacing > 0:
                self._spacers.pop(session_id, None)

    async def settle(self) -> None:
        """Wait until no announcement is waiting for its spacing."""
        while self._spacers:
            await asyncio.wait(list(self._spacers.values()))

    async def aclose(self) -> None:
        """End the spacing tasks (what they would still announce is dropped; the sockets
        are closing)."""
        self._closed = True
        spacers = list(self._spacers.values())
        for task in spacers:
            task.cancel()
        if spacers:
            await asyncio.wait(spacers)

    async def _announce_once(self, session_id: uuid.UUID, live: bool) -> None:
        try:
            if not live:
                session = await self._control.load(session_id)
                if SessionStatus(session.status) in TERMINAL:
                    return
            now = await self.current(session_id)
            event = PresenceEvent(student_online=now.student_online, observers=now.observers)
            await self._log.publish(session_id, [event])
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("presence announcement failed for %s", session_id, exc_info=True)
