"""What a session's log says, folded from its events: the one fold (pure: no I/O, no clock).

``view.apply(event) -> view`` is to a session log what the Anthropic SDK's
``accumulate_event`` is to a message stream: every consumer that needs derived state reads
it from a view instead of re-deriving it over raw events:

- the reply streaming now and its text so far (``welcome`` on connect, resume mid-reply);
- replies a killed worker left open (``say`` closes them as ``interrupted``);
- the ``client_id``s already said (``say`` de-duplication);
- whether a stop was asked for a reply, and whether it has ended (the reply runner, and
  ``end`` waiting for the running reply to record its end);
- the status, budget and presence last announced;
- the client's state (trust, hidden facts) and the teacher's latest directions.

Laws (property-tested in ``tests/realtime/unit/test_rt_sessionview.py``): folding a
prefix and then the rest equals folding the whole, :func:`fold` equals applying the
events one at a time, and an event at or below ``last_seq`` changes nothing, so a
snapshot plus the events after it equals a fresh fold.
A view folded from a window that starts mid-log knows only what the window shows: a reply
whose ``reply.start`` was trimmed is open with the text seen since.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import assert_never

from realtime.events import (
    BudgetEvent,
    BudgetState,
    ClientStateEvent,
    DirectionEvent,
    MessageEvent,
    Presence,
    PresenceEvent,
    ReplyDelta,
    ReplyDone,
    ReplyError,
    ReplyFlagged,
    ReplyStart,
    ReplyStop,
    ReplyUsage,
    SequencedEvent,
    SessionRestarted,
    StatusEvent,
    Unreadable,
)
from realtime.lifecycle import SessionStatus
from realtime.vocabulary import MessageRole, Role

__all__ = ["DIRECTIONS_KEPT", "OpenReply", "Said", "SessionView", "fold", "superseded"]

#: Teacher directions that shape the next prompts: the latest three (a fourth note
#: usually replaces an earlier one; more would crowd the persona).
DIRECTIONS_KEPT = 3


@dataclass(frozen=True, slots=True)
class OpenReply:
    """A reply that started (or streamed) and has not ended yet."""

    reply_id: str
    text: str = ""
    #: Who asked to stop it, once someone did.
    stop_by: Role | None = None


_Change = Callable[[OpenReply], OpenReply]


@dataclass(frozen=True, slots=True)
class Said:
    """Where a student's ``say`` landed: its seq and message id."""

    seq: int
    message_id: str

    @property
    def claim(self) -> str:
        """The value the say's idempotency claim records (``"seq:message_id"``)."""
        return f"{self.seq}:{self.message_id}"


@dataclass(frozen=True, slots=True)
class SessionView:
    #: The last event folded in; events at or below it are ignored (already seen).
    last_seq: int = 0
    status: SessionStatus | None = None
    #: The seq of the last ``status`` event folded (0: none): every state change of the
    #: session row logs one, so a copy of the row read before it is out of date.
    status_seq: int = 0
    #: In log order; more than one only when a killed worker left one open.
    open_replies: tuple[OpenReply, ...] = ()
    ended_replies: frozenset[str] = frozenset()
    said: Mapping[str, Said] = field(default_factory=dict)
    budget: BudgetState | None = None
    presence: Presence | None = None
    #: The latest client state the app published (observers' view and the next turn's
    #: starting point).
    client_state: ClientStateEvent | None = None
    #: The teacher's latest directions to the client, newest last; they shape the
    #: following prompts.
    directions: tuple[str, ...] = ()

    @property
    def streaming(self) -> OpenReply | None:
        """The newest open reply: the one being generated, if any."""
        return self.open_replies[-1] if self.open_replies else None

    def is_streaming(self, reply_id: str) -> bool:
        """Whether ``reply_id`` is the newest open reply, the one generating now."""
        streaming = self.streaming
        return streaming is not None and streaming.reply_id == reply_id

    def open_reply(self, reply_id: str) -> OpenReply | None:
        return next((r for r in self.open_replies if r.reply_id == reply_id), None)

    def has_ended(self, reply_id: str) -> bool:
        return reply_id in self.ended_replies

    def apply(self, event: SequencedEvent) -> SessionView:
        """The view after ``event``. Pure; never raises."""
        if event.seq <= self.last_seq:
            return self
        if isinstance(event, ReplyDelta):  # the hot case: see _delta
            return self._delta(event)
        view = replace(self, last_seq=event.seq)
        match event:
            case MessageEvent():
                return view._said(event)
            case ReplyStart():
                return view._streamed(event.reply_id, "")
            case ReplyStop():
                return view._map_open(event.reply_id, lambda r: replace(r, stop_by=event.by))
            case ReplyDone() | ReplyError():
                return replace(
                    view,
                    open_replies=tuple(
                        r for r in view.open_replies if r.reply_id != event.reply_id
                    ),
                    ended_replies=view.ended_replies | {event.reply_id},
                )
            case BudgetEvent():
                budget = BudgetState(
                    tokens_used=event.tokens_used,
                    token_budget=event.token_budget,
                    seconds_left=event.seconds_left,
                )
                return replace(view, budget=budget)
            case StatusEvent():
                return replace(view, status=event.status, status_seq=event.seq)
            case PresenceEvent():
                presence = Presence(student_online=event.student_online, observers=event.observers)
                return replace(view, presence=presence)
            case ClientStateEvent():
                return replace(view, client_state=event)
            case DirectionEvent():
                kept = (*view.directions, event.text)[-DIRECTIONS_KEPT:]
                return replace(view, directions=kept)
            case ReplyFlagged() | SessionRestarted() | ReplyUsage() | Unreadable():
                return view
            case _:
                assert_never(event)

    def _delta(self, event: ReplyDelta) -> SessionView:
        """The hot case (every socket of a student, ~50 deltas a reply, and the worker's
        recent log): one copy of the view, not three, when the delta grows the reply
        streaming now."""
        if not self.is_streaming(event.reply_id):
            return replace(self, last_seq=event.seq)._streamed(event.reply_id, event.text)
        replies = self.open_replies
        last = replies[-1]
        grown = OpenReply(last.reply_id, last.text + event.text, last.stop_by)
        return replace(self, last_seq=event.seq, open_replies=(*replies[:-1], grown))

    def _said(self, event: MessageEvent) -> SessionView:
        client_id = event.client_id
        if event.role is not MessageRole.STUDENT or client_id is None or client_id in self.said:
            return self  # the first landing of a client_id is the one a retry refers to
        said = {**self.said, client_id: Said(event.seq, event.message_id)}
        return replace(self, said=said)

    def _streamed(self, reply_id: str, text: str) -> SessionView:
        if reply_id in self.ended_replies:
            return self
        if self.open_reply(reply_id) is None:
            return replace(self, open_replies=(*self.open_replies, OpenReply(reply_id, text)))
        return self._map_open(reply_id, lambda r: replace(r, text=r.text + text))

    def _map_open(self, reply_id: str, change: _Change) -> SessionView:
        replies = tuple(change(r) if r.reply_id == reply_id else r for r in self.open_replies)
        return replace(self, open_replies=replies)


def fold(events: Iterable[SequencedEvent], view: SessionView | None = None) -> SessionView:
    """``view`` (default: empty) with ``events`` applied in order, one by one.

    A delta of a reply whose end comes later in ``events`` is skipped: the end closes
    the reply whatever text it had, and the later end sets ``last_seq``. A say catching
    up folds the whole previous reply at once (~50 deltas, a copy of the view each)."""
    batch = events if isinstance(events, Sequence) else list(events)
    out = view or SessionView()
    for event, skipped in zip(batch, superseded(batch), strict=True):
        if not skipped:
            out = out.apply(event)
    return out


def superseded(events: Sequence[SequencedEvent]) -> list[bool]:
    """Which of ``events`` a :func:`fold` of them skips: the deltas of a reply whose end
    comes later among them."""
    ends = {e.reply_id: i for i, e in enumerate(events) if isinstance(e, ReplyDone | ReplyError)}
    return [
        isinstance(event, ReplyDelta) and ends.get(event.reply_id, -1) > i
        for i, event in enumerate(events)
    ]
