"""What one socket has seen of its session's log, and which events it is sent (pure).

Apart from the socket's tasks (:mod:`realtime.connection`) because two paths feed it: the
subscription's live path, in the appender's own call, and the socket's pump, for what
that path declines (catch-up, a full outbox). Both note every event here, in log order.
"""

from __future__ import annotations

import time

from realtime.events import ReplyDelta, SequencedEvent, StatusEvent
from realtime.lifecycle import TERMINAL
from realtime.sessionview import SessionView
from realtime.vocabulary import Role

__all__ = ["Follower"]


class Follower:
    # One per open socket (thousands at once): no per-instance dict.
    __slots__ = ("_student", "cursor", "last_reply_event", "live", "view")

    def __init__(self, role: Role, *, live: bool) -> None:
        self._student = role is Role.STUDENT
        #: Live as far as this socket knows: the handshake's answer (its row was just
        #: read), then every ``status`` the log sent it. Presence announcements and
        #: leaving pass it on, so they need not read the row again (a reconnect costs
        #: one query).
        self.live = live
        #: The last seq this socket was sent (or skipped): where following resumes.
        self.cursor = 0
        #: Student sockets fold the log so the heartbeat's sweep notices a reply a dead
        #: worker left open (see :meth:`open_reply_since`); None for observers.
        self.view: SessionView | None = None
        self.last_reply_event = time.monotonic()

    def note(self, event: SequencedEvent) -> SequencedEvent | None:
        """``event`` seen: the event to send, or None when it is not for this socket."""
        self.cursor = max(self.cursor, event.seq)
        if event.OBSERVERS_ONLY and self._student:
            return None  # seqs skip it for students; their cursor is the max seen
        if isinstance(event, StatusEvent):
            self.live = event.status not in TERMINAL
        if (view := self.view) is not None:
            # The view is read for which replies are open, never for their text: a delta
            # that only grows the reply streaming now (~50 a reply, a copy of the view
            # each) is not folded. Its last_seq then lags; the next other event folds in.
            if not (isinstance(event, ReplyDelta) and view.is_streaming(event.reply_id)):
                self.view = view.apply(event)
            if getattr(event, "reply_id", None) is not None:
                # Only a reply's own events show it alive: presence changes and
                # whispers kept a dead worker's reply "not silent".
                self.last_reply_event = time.monotonic()
        return event

    def open_reply_since(self) -> float | None:
        """When the reply this (student) socket sees open last logged an event; None if
        it sees none open."""
        view = self.view
        return self.last_reply_event if view is not None and view.open_replies else None
