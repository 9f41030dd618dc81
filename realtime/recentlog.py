"""What a worker remembers of each session's log between says and welcomes: the fold
of its events and its complete messages, caught up with one read of what was appended
since.

Without it every say re-read and re-decoded the newest 300 events and loaded the whole
transcript from SQL and the log (~12% of a loaded worker's CPU, and the largest share
of its SQL), and every socket's welcome did the same for the whole retained log. Both
are pure functions of the log up to a seq, and logged events never change, so what was
folded once stays true: a caller only reads the events after the seq remembered. A memo
is dropped when its epoch changes (the log was lost and reopened) or when the log no
longer retains the events after it (trimmed, or a worker that saw the session long
ago); then it is rebuilt from the retained log and SQL.

What this process appends itself (a reply's ~50 deltas and its end, on the worker that
streams it) is kept as published and folded in at the next catch-up, whose read then
starts after it: on Redis a say no longer reads its previous reply back from the log and
decodes it (~55 events, ~5% of a loaded worker's busy samples at S=50). Only a run that
follows the memo without a gap is kept; from another worker's append on, the read does
the rest, as before.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace

from realtime.backends.base import READ_BATCH
from realtime.eventlog import LogInfo
from realtime.events import MessageEvent, ReplyDelta, ReplyDone, ReplyError, SequencedEvent
from realtime.sessionlog import SessionLog
from realtime.sessionview import SessionView, fold, superseded
from realtime.sharedread import SharedReads
from realtime.transcript import message_from_event

__all__ = ["ReadSince", "Recent", "RecentLog"]

#: Where a log stands and the first events after a seq (``RealtimeBackend.log_since``).
ReadSince = Callable[[int], Awaitable[tuple[LogInfo, list[SequencedEvent]] | None]]

#: Sessions remembered per worker: a worker carries ~100 live sessions; past this the
#: least recently said-to is forgotten (and rebuilt, correctly, if it speaks again).
MAX_SESSIONS = 1_000


@dataclass(frozen=True, slots=True)
class Recent:
    """A session's log as of ``info.last_seq``."""

    info: LogInfo
    #: The fold of every event the log retained when this worker first looked, and of
    #: every event since.
    view: SessionView
    #: ``view`` folds every event after this seq (what it says of older events, e.g.
    #: that no ``status`` came, may be incomplete).
    folded_after: int
    #: Every complete message, in seq order.
    messages: tuple[MessageEvent, ...]


@dataclass(slots=True)
class _Own:
    """What this process published to a session since its memo's last seq, in order and
    without a gap, until the next catch-up folds it in."""

    #: Where the next batch must start to follow on (the memo's last seq + 1 at first).
    next_seq: int
    batches: list[tuple[int, Sequence[SequencedEvent]]] = field(default_factory=list)
    #: Deltas published one a batch (how a reply streams), by reply, apart from the
    #: batches: the reply's end drops them, since the fold skips them, and the next say's
    #: catch-up walks the few other events, not every delta (that walk was 2.1% of an
    #: in-process worker's samples at S=200). Kept while the reply streams, as their seq
    #: and text: a tuple the collector stops tracking, where the event was three objects
    #: it walked in every pass until the reply's end (~2.5 s, long enough to reach the
    #: oldest generation and swell the young one when freed).
    deltas: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    #: False once a batch did not follow (another worker appended between, or over
    #: READ_BATCH events waited): nothing more is kept, the read starts at the gap.
    following: bool = True


class RecentLog:
    """One per worker, over the worker's :class:`SessionLog`. Not shared between
    workers: each catches up from the shared log on its own."""

    def __init__(self, log: SessionLog, max_sessions: int = MAX_SESSIONS) -> None:
        self._log = log
        self._max = max_sessions
        self._memo: OrderedDict[uuid.UUID, Recent] = OrderedDict()
        self._own: dict[uuid.UUID, _Own] = {}
        self._first_looks: SharedReads[uuid.UUID, Recent] = SharedReads()
        log.on_published(self._published)

    def known_seq(self, session_id: uuid.UUID) -> int | None:
        """The seq this worker caught up to, or None when it remembers nothing of the
        session (the next catch-up rebuilds it without calling ``read``)."""
        known = self._memo.get(session_id)
        return None if known is None else known.info.last_seq

    async def catch_up(self, session_id: uuid.UUID, read: ReadSince | None = None) -> Recent:
        """The session's log as of now (or newer): one round trip when nothing much
        happened since the last catch-up (where the log stands and what came since).
        ``read`` makes that round trip in the caller's stead (a say takes its lock in the
        same one) when this worker knows the session: called once, with the seq known."""
        known = self._memo.get(session_id)
        found = None
        if known is not None:
            known = self._with_own(session_id, known)
            after = known.info.last_seq
            found = await (
                read(after)
                if read is not None
                else self._log.backend.log_since(str(session_id), after, READ_BATCH)
            )
        if known is None or found is None:  # first look, or the log is gone: reopen it
            # Shared by the catch-ups that come together (a welcome storm on a session
            # new to this worker read the transcript once per socket: 100 of 100).
            recent = await self._first_looks.read(session_id, lambda: self._reopen(session_id))
        elif not _continues(known.info, found[0]):
            recent = await self._rebuild(session_id, found[0])
        else:
            recent = await self._extend(session_id, known, *found)
        # Two catch-ups of one session may overlap (a say reads before and under the
        # reply lock): both are true of the log, the newer one is kept.
        held = self._memo.get(session_id)
        if (
            held is None
            or held.info.epoch != recent.info.epoch
            or held.info.last_seq <= recent.info.last_seq
        ):
            self._memo[session_id] = recent
            self._own.pop(session_id, None)  # kept against the memo it replaces
        self._memo.move_to_end(session_id)
        while len(self._memo) > self._max:
            forgotten, _ = self._memo.popitem(last=False)
            self._own.pop(forgotten, None)
        return self._memo[session_id]

    def forget(self, session_id: uuid.UUID) -> None:
        self._memo.pop(session_id, None)
        self._own.pop(session_id, None)

    def _published(
        self, session_id: uuid.UUID, events: Sequence[SequencedEvent], seqs: list[int]
    ) -> None:
        known = self._memo.get(session_id)
        if known is None or not seqs:
            return
        own = self._own.get(session_id)
        if own is None:
            own = self._own[session_id] = _Own(known.info.last_seq + 1)
        if not own.following:
            return
        # Kept against this memo only (replacing it drops this), so what waits is the
        # distance from its last seq.
        if seqs[0] != own.next_seq or seqs[-1] - known.info.last_seq > READ_BATCH:
            own.following = False
            return
        if len(events) == 1 and isinstance(delta := events[0], ReplyDelta):
            own.deltas.setdefault(delta.reply_id, []).append((seqs[0], delta.text))
        else:
            for event in events:
                if isinstance(event, ReplyDone | ReplyError):
                    own.deltas.pop(event.reply_id, None)
            own.batches.append((seqs[0], tuple(events)))
        own.next_seq = seqs[-1] + 1

    def _with_own(self, session_id: uuid.UUID, known: Recent) -> Recent:
        """``known`` with what this process published since folded in (and given up:
        were the catch-up to fail, the memo still ends where it did, and the next read
        brings these events again)."""
        own = self._own.pop(session_id, None)
        if own is None or not (own.batches or own.deltas):
            return known
        unstamped = [(seq, e) for first, batch in own.batches for seq, e in enumerate(batch, first)]
        if own.deltas:  # a reply still streaming: its deltas in their places
            unstamped += [
                (seq, ReplyDelta(reply_id=reply_id, text=text))
                for reply_id, deltas in own.deltas.items()
                for seq, text in deltas
            ]
            unstamped.sort(key=lambda kept: kept[0])
        skipped = superseded([event for _, event in unstamped])
        # Stamped with their seqs, but not the deltas the fold skips (a copy each).
        events = [
            event.with_seq(seq)
            for (seq, event), skip in zip(unstamped, skipped, strict=True)
            if not skip
        ]
        messages = [m for e in events if (m := message_from_event(e)) is not None]
        return Recent(
            replace(known.info, last_seq=own.next_seq - 1),
            fold(events, known.view),
            known.folded_after,
            (*known.messages, *messages),
        )

    async def _reopen(self, session_id: uuid.UUID) -> Recent:
        return await self._rebuild(session_id, await self._log.ensure(session_id))

    async def _rebuild(self, session_id: uuid.UUID, info: LogInfo) -> Recent:
        # Everything retained (at most the live window, once per session per worker): a
        # welcome reads the latest client state from it, however long ago it was logged.
        _, view = await self._log.view(session_id, upto=info.last_seq)
        # Read after the fold's end: what was appended since comes on the next catch-up.
        messages = [m for m in await self._log.messages(session_id) if m.seq <= info.last_seq]
        return Recent(info, view, max(info.first_seq - 1, 0), tuple(messages))

    async def _extend(
        self, session_id: uuid.UUID, known: Recent, info: LogInfo, first: list[SequencedEvent]
    ) -> Recent:
        """``known`` and the events after it: ``first`` (read with ``info``), then read
        up to ``info.last_seq``."""
        view, messages, after = known.view, list(known.messages), known.info.last_seq
        backend, sid = self._log.backend, str(session_id)
        events = first
        while after < info.last_seq:
            if not events:
                events = await backend.read(sid, after, min(READ_BATCH, info.last_seq - after))
            if not events or events[0].seq != after + 1:
                break  # trimmed past us while we read
            view = fold(events, view)
            for event in events:
                message = message_from_event(event)
                if message is not None:
                    messages.append(message)
            after, events = events[-1].seq, []
        if after < info.last_seq:  # start again from SQL
            return await self._rebuild(session_id, info)
        return Recent(info, view, known.folded_after, tuple(messages))


def _continues(known: LogInfo, now: LogInfo) -> bool:
    """Whether the events after ``known`` are all still in the log ``now`` describes."""
    return (
        known.epoch == now.epoch
        and known.last_seq <= now.last_seq
        and known.last_seq >= now.first_seq - 1
    )
