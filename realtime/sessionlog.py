"""A session's live log as the rest of the realtime layer uses it: ensure, publish (with
one reopen-and-retry), read as a folded :class:`SessionView`, subscribe, request a stop,
and wait for a reply to end. The backend underneath is shared by every worker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TypeVar

from realtime.backends import LogMissing, RealtimeBackend
from realtime.backends.base import READ_BATCH, Subscription
from realtime.eventlog import LogGapError, LogInfo
from realtime.events import MessageEvent, ReplyError, ReplyStop, SequencedEvent
from realtime.sessionview import SessionView
from realtime.transcript import load_messages
from realtime.vocabulary import ReplyErrorCode, Role
from storage.db import Database
from storage.repos import transcripts as transcript_repo

__all__ = [
    "INTERRUPTED_MESSAGE",
    "RECENT_EVENTS",
    "Published",
    "SessionLog",
    "interrupted",
    "is_repair",
]

T = TypeVar("T")

#: How far back a say looks for what a killed worker left behind (an open reply, a message
#: appended but not recorded): a crash leaves it at the end of the log, so the newest few
#: hundred events suffice (a reply is ~200 coalesced deltas).
RECENT_EVENTS = 300
#: What a student sees for a reply a server restart or a dead worker cut off.
INTERRUPTED_MESSAGE = "The reply was cut off by a server restart; ask again."
#: The reply lock's holder while an orphan repair runs (:meth:`SessionLog.repair`).
_REPAIR_PREFIX = "repair-"


def is_repair(holder: str) -> bool:
    """Whether the reply lock's ``holder`` is an orphan repair (held for a few round
    trips, never a reply): a say that finds one waits for it rather than be refused."""
    return holder.startswith(_REPAIR_PREFIX)


def interrupted(reply_id: str, text: str) -> ReplyError:
    """The end of a reply a dead worker left open: its partial text kept as failed."""
    return ReplyError(
        reply_id=reply_id,
        code=ReplyErrorCode.INTERRUPTED,
        message=INTERRUPTED_MESSAGE,
        message_id=str(uuid.uuid4()) if text else None,
        text=text,
    )


#: Told of every batch this process publishes through a :class:`SessionLog`, once it is
#: in the log: the session, the events as given, and their seqs.
Published = Callable[[uuid.UUID, Sequence[SequencedEvent], list[int]], None]


class SessionLog:
    def __init__(self, backend: RealtimeBackend, db: Database) -> None:
        self.backend = backend
        self._db = db
        self._listeners: list[Published] = []

    def on_published(self, listener: Published) -> None:
        """Call ``listener`` after each :meth:`publish` (a worker's recent log keeps what
        its own process appended, rather than read it back at the next say)."""
        self._listeners.append(listener)

    async def ensure(self, session_id: uuid.UUID) -> LogInfo:
        """Open the session's live log, continuing the seq after what SQL already holds."""
        info = await self.backend.log_info(str(session_id))
        if info is not None:
            return info
        floor = await self._db.read(lambda s: transcript_repo.max_seq(s, session_id))
        return await self.backend.open_log(str(session_id), floor)

    async def _reopening(self, session_id: uuid.UUID, call: Callable[[], Awaitable[T]]) -> T:
        """Run a log write; if the live log is gone (expired, Redis lost it), reopen it
        above what SQL holds and run it once more."""
        try:
            return await call()
        except LogMissing:
            await self.ensure(session_id)
            return await call()

    async def publish(self, session_id: uuid.UUID, events: Sequence[SequencedEvent]) -> list[int]:
        """Append ``events`` in one round trip; returns their seqs."""
        sid = str(session_id)
        seqs = await self._reopening(session_id, lambda: self.backend.append(sid, events))
        for listener in self._listeners:
            listener(session_id, events, seqs)
        return seqs

    async def request_stop(self, session_id: uuid.UUID, reply_id: str, by: Role) -> int | None:
        """The seq of the ``reply.stop`` appended, or None if ``reply_id`` is not running
        or a stop was already asked for."""
        sid, event = str(session_id), ReplyStop(reply_id=reply_id, by=by)
        return await self._reopening(
            session_id, lambda: self.backend.request_stop(sid, reply_id, event)
        )

    def subscribe(
        self, session_id: uuid.UUID, after: int, epoch: str | None = None
    ) -> AbstractAsyncContextManager[Subscription]:
        """See :meth:`RealtimeBackend.subscribe`."""
        return self.backend.subscribe(str(session_id), after, epoch)

    async def view(
        self, session_id: uuid.UUID, *, upto: int | None = None, newest: int | None = None
    ) -> tuple[LogInfo, SessionView]:
        """Where the log stands and the fold of its retained events up to ``upto``
        (default: the end), or of only the ``newest`` of them."""
        info = await self.ensure(session_id)
        last = info.last_seq if upto is None else min(upto, info.last_seq)
        after = max(info.first_seq - 1, 0)
        if newest is not None:
            after = max(after, last - newest)
        view = SessionView()
        while after < last:
            events = await self.backend.read(str(session_id), after, min(READ_BATCH, last - after))
            if not events:
                break
            for event in events:
                view = view.apply(event)
            after = events[-1].seq
        return info, view

    async def close_orphans(self, session_id: uuid.UUID, view: SessionView) -> int:
        """End the replies ``view`` shows open, as ``interrupted`` (their partial text kept
        as a failed message); returns how many. The caller holds the reply lock, so none
        of them is running."""
        if view.open_replies:
            ends = [interrupted(reply.reply_id, reply.text) for reply in view.open_replies]
            await self.publish(session_id, ends)
        return len(view.open_replies)

    async def repair(self, session_id: uuid.UUID, lease_seconds: float) -> int:
        """Close replies a dead worker left open, if no reply runs now (its lease lapsed):
        under the reply lock, so no say starts meanwhile; returns how many were closed.
        Costs one GET while a reply runs, else one read of the newest events."""
        sid = str(session_id)
        if await self.backend.current_reply(sid) is not None:
            return 0
        _, view = await self.view(session_id, newest=RECENT_EVENTS)
        if not view.open_replies:
            return 0
        repair_id = f"{_REPAIR_PREFIX}{uuid.uuid4().hex}"
        if not await self.backend.acquire_reply(sid, repair_id, lease_seconds):
            return 0  # a say got there first; it closes them itself
        try:
            _, view = await self.view(session_id, newest=RECENT_EVENTS)
            return await self.close_orphans(session_id, view)
        finally:
            await self.backend.release_reply(sid, repair_id)

    async def messages(self, session_id: uuid.UUID) -> list[MessageEvent]:
        """Every complete message so far, in seq order, from the log and SQL."""
        return await load_messages(self._db, self.backend, session_id)

    async def wait_ended(
        self, session_id: uuid.UUID, reply_id: str, within: float, *, after: int | None = None
    ) -> bool:
        """Wait until ``reply_id`` has logged its end (``reply.done``/``reply.error``),
        following the log rather than polling; True at once if it no longer holds the
        reply lock. False on timeout. Safe to cancel. ``after``: a seq the caller knows
        the reply had not ended by (default: the whole retained log is followed)."""
        sid = str(session_id)
        if after is None:
            after = max((await self.ensure(session_id)).first_seq - 1, 0)
        try:
            async with asyncio.timeout(within):
                if await self.backend.current_reply(sid) != reply_id:
                    return True
                view = SessionView()
                async with self.subscribe(session_id, after) as events:
                    async for event in events:
                        view = view.apply(event)
                        if view.has_ended(reply_id):
                            return True
        except (TimeoutError, LogGapError):  # a gap: the log was lost since ``after``
            return False
        return True
