"""Who is on a session's sockets: each connection's entry in the backend, refreshed by the
process's heartbeat (:mod:`realtime.heartbeat`; entries of a dead worker lapse after their
TTL), and ``presence`` events when the counts change.

Presence is advisory: a store blip while announcing is logged, never fatal to a socket.
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

__all__ = ["PresenceBoard"]


class PresenceBoard:
    def __init__(self, log: SessionLog, control: SessionControl, ttl_seconds: float) -> None:
        self._log = log
        self._control = control
        self._ttl = ttl_seconds
        # Coalescing: while one announcement of a session is being made, further requests
        # only mark it stale; it is made once more when done. 1,000 observers joining at
        # once cost a handful of announcements (and SQL reads), not 1,000 of each.
        self._announcing: set[uuid.UUID] = set()
        #: Sessions asked for again meanwhile, and whether every such caller knew it live.
        self._stale: dict[uuid.UUID, bool] = {}

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
        keep its Redis keys from expiring), counted after this call began: when an
        announcement is already under way, it is repeated once it is published instead.
        ``live``: the caller just read the session's row and found it live (a socket's
        handshake), so SQL need not be asked again. Never raises but cancellation."""
        if session_id in self._announcing:
            self._stale[session_id] = self._stale.get(session_id, True) and live
            return
        self._announcing.add(session_id)
        try:
            while True:
                await self._announce_once(session_id, live)
                if session_id not in self._stale:
                    return
                live = self._stale.pop(session_id)
        finally:
            self._announcing.discard(session_id)
            self._stale.pop(session_id, None)

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
