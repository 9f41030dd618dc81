"""The process's presence heartbeat and orphan sweep: one pass over every open socket,
per session, instead of two sleeping tasks on each socket.

* Every ``heartbeat_seconds`` (10 s): refresh each registered socket's presence entry
  (it lapses after ``presence_ttl_seconds``, 30 s: three missed beats), and publish a
  ``presence`` event for a session whose counts differ from its last beat's (e.g. a
  killed worker's sockets lapsed). A store blip (BackendUnavailable) misses that
  session's beat, logged; the next beat retries.
* Every quarter of the reply lease (0.75 s of 3 s): for a session where a student socket
  has an open reply silent for half a lease, ask the log to repair it. Repair closes it
  only once the lease has lapsed (a live worker renews it every quarter lease, so a slow
  model is left alone), so a dead worker's reply is closed within 1.25 leases of the crash;
  one GET a look, and only while such a reply is open and silent.

Sockets register once their first presence is announced and unregister before they leave.
The state that feeds the orphan sweep (the socket's fold of the log, the time of its
reply's last event) stays on each socket (:class:`Member`): its pump already keeps it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from realtime.backends.base import BackendUnavailable
from realtime.config import RealtimeConfig
from realtime.events import Presence
from realtime.nap import nap
from realtime.presence import PresenceBoard
from realtime.sessionlog import SessionLog
from realtime.vocabulary import Role

log = logging.getLogger(__name__)

__all__ = ["Heartbeat", "Member"]


class Member(Protocol):
    """What the heartbeat needs of a socket."""

    @property
    def session_id(self) -> uuid.UUID: ...

    @property
    def conn_id(self) -> str: ...

    @property
    def role(self) -> Role: ...

    @property
    def live(self) -> bool:
        """The session is live as far as this socket knows (its last ``status``)."""
        ...

    def open_reply_since(self) -> float | None:
        """When the reply this socket sees open last showed life (monotonic seconds);
        None when it sees no reply open."""
        ...


@dataclass(eq=False, slots=True)
class _Session:
    members: set[Member] = field(default_factory=set)
    #: The counts as of the last beat (or the first join): announced when they change.
    last: Presence | None = None


class Heartbeat:
    def __init__(
        self,
        presence: PresenceBoard,
        log: SessionLog,
        config: RealtimeConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._presence = presence
        self._log = log
        self._beat_seconds = config.heartbeat_seconds
        self._lease = config.reply_lock_seconds
        self._clock = clock
        self._sessions: dict[uuid.UUID, _Session] = {}

    def __len__(self) -> int:
        return sum(len(record.members) for record in self._sessions.values())

    def serving(self) -> bool:
        """Whether any socket is open on this process."""
        return bool(self._sessions)

    def register(self, member: Member, presence: Presence) -> None:
        """Beat for ``member`` from now on; ``presence``: the counts its join touched.

        Only a session's first socket sets the counts the next beat compares with: joins
        are announced as they come, but a joiner's announcement, coalesced under a storm,
        may be published before the cut of a later joiner's welcome, so the next beat
        announces the counts once more if they changed since (one event a session)."""
        record = self._sessions.setdefault(member.session_id, _Session())
        record.members.add(member)
        if record.last is None:
            record.last = presence

    def unregister(self, member: Member) -> None:
        """Stop beating for ``member`` (before it leaves the board). Idempotent."""
        record = self._sessions.get(member.session_id)
        if record is None:
            return
        record.members.discard(member)
        if not record.members:
            del self._sessions[member.session_id]

    async def run(self, stop: asyncio.Event) -> None:
        """Beat and sweep until ``stop`` is set; a pass under way finishes first.
        Cancelling is safe (a pass cut short only misses a beat)."""
        async with asyncio.TaskGroup() as loops:
            loops.create_task(self._every(self._beat_seconds, self.beat, stop))
            loops.create_task(self._every(self._lease / 4, self.sweep_orphans, stop))

    async def _every(
        self, seconds: float, step: Callable[[], Awaitable[None]], stop: asyncio.Event
    ) -> None:
        while not await nap(stop, seconds):
            try:
                await step()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug in one pass must not stop every later beat
                log.exception("heartbeat pass failed")

    # -- presence -------------------------------------------------------------------------

    async def beat(self) -> None:
        """One presence pass over every registered socket. Never raises but cancellation."""
        for session_id, record in list(self._sessions.items()):
            try:
                await self._beat_session(session_id, record)
            except asyncio.CancelledError:
                raise
            except BackendUnavailable:
                # A missed beat: presence lapses only after the TTL (3 beats).
                log.warning("presence heartbeat missed for %s", session_id)
            except Exception:
                log.exception("presence heartbeat failed for %s", session_id)

    async def _beat_session(self, session_id: uuid.UUID, record: _Session) -> None:
        # The backends touch one entry a call (no multi-touch): one pass, a call a socket.
        board, members = self._presence, record.members
        touched: list[Member] = []
        now: Presence | None = None
        for member in list(members):
            if member in members:  # not gone while an earlier touch was awaited
                now = await board.touch(session_id, member.conn_id, member.role)
                touched.append(member)
        gone = [member for member in touched if member not in members]
        for member in gone:
            # Left while its touch was in flight: its own leave may have landed first, so
            # forget it again rather than keep a ghost for a TTL. Its leave announces.
            await board.forget(session_id, member.conn_id)
        if gone or now is None or now == record.last:
            return
        record.last = now
        # What the sockets know (each ``status`` they were sent), not a read of the row.
        await board.announce(session_id, live=all(member.live for member in members))

    # -- orphaned replies -----------------------------------------------------------------

    async def sweep_orphans(self) -> None:
        """One look for replies a dead worker left open and silent. Never raises but
        cancellation (a store blip: the next look, or the next say, repairs)."""
        quiet_since = self._clock() - self._lease / 2
        for session_id, record in list(self._sessions.items()):
            since = [member.open_reply_since() for member in record.members]
            if not any(at is not None and at <= quiet_since for at in since):
                continue
            try:
                await self._log.repair(session_id, self._lease)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("orphan repair failed for %s", session_id, exc_info=True)
