"""One reply to run: what the say prepared for the reply runner
(:mod:`realtime.conversation`), and what the runner keeps of it between a withdrawn reply
and its one retry."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from llm.base import ReplyRequest
from realtime.clientstate import ClientState
from realtime.clientturns import TurnState
from realtime.replyslots import Ticket
from realtime.timekeeping import ActiveClock

__all__ = ["ReplyJob"]


@dataclass
class ReplyJob:
    session_id: uuid.UUID
    owner_id: uuid.UUID
    reply_id: str
    request: ReplyRequest
    input_estimate: int
    start_seq: int = 0
    #: The client's state after the student's turn (None: no client state kept).
    client: ClientState | None = None
    #: 2 for the one retry of a withdrawn reply (REPLY_INTEGRITY=regenerate).
    attempt: int = 1
    #: What the student's turn did to the client state (its event is published once the
    #: message has a seq).
    turn: TurnState | None = None
    #: The catalog entry serving the reply (None: the catalog's default).
    model_id: str | None = None
    #: Its place among the worker's reply slots (None: the runner takes one, queue or not).
    ticket: Ticket | None = None
    #: A stop of this reply or the session leaving ``active`` logged after this seq ends
    #: the reply: the say's snapshot, so what was logged while the say prepared counts
    #: (None: from the reply's start).
    watch_after: int | None = None
    #: The session's active clock as the say read it. Only a status change moves it, and
    #: every status change but ``active`` stops the reply: a reply that was not stopped
    #: reports the time left by it, with no SQL read (None: read the row).
    clock: ActiveClock | None = None
    #: The teacher was near a monthly cap at the say: the usage row is written as the
    #: reply ends, not left to the flusher, so the next say's check counts it (a cap is
    #: overrun by at most one reply per live session, as docs/admin.md says).
    near_cap: bool = False
    #: When the reply's lease was last taken or renewed (``time.monotonic``, taken before
    #: the call): its first renewal is due a quarter of the lease later (None: at once).
    leased_at: float | None = None
