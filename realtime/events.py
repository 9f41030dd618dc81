"""Server -> client events: pydantic models, one tagged union (discriminator ``type``).

Pure: no I/O. Sequenced events carry ``seq``; the session log assigns it (``0`` means "not
yet appended"), so producers build an event with the default ``seq=0`` and hand it to the
log, which returns it with its seq. Backends store :func:`payload` (JSON without ``seq``)
and decode what they read back with :func:`decode_event`, once, at their boundary: every
consumer above them matches on typed models.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from llm.base import FailureCode
from realtime.eventbase import Sequenced as _Sequenced
from realtime.eventbase import ServerModel
from realtime.eventjson import dump_json
from realtime.lifecycle import SessionStatus
from realtime.usage_events import CallUsage, ReplyUsage
from realtime.vocabulary import (
    BudgetWarning,
    ErrorCode,
    EventType,
    MessageRole,
    ReplyErrorCode,
    Role,
)

__all__ = [
    "UNAVAILABLE_MESSAGE",
    "BudgetEvent",
    "BudgetState",
    "CallUsage",
    "ClientStateEvent",
    "DirectionEvent",
    "ErrorEvent",
    "FactView",
    "FlagView",
    "MessageEvent",
    "Pong",
    "Presence",
    "PresenceEvent",
    "ReplyDelta",
    "ReplyDone",
    "ReplyError",
    "ReplyFlagged",
    "ReplyStart",
    "ReplyStop",
    "ReplyUsage",
    "ResumeFailed",
    "SequencedEvent",
    "ServerModel",
    "SessionRestarted",
    "StatusEvent",
    "StreamingReply",
    "Unreadable",
    "Usage",
    "Welcome",
    "decode_event",
    "encode",
    "error",
    "failure_code",
    "payload",
    "payload_json",
    "stamped_json",
]


class Usage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)


class Presence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    student_online: bool
    observers: int = Field(ge=0)


class BudgetState(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    tokens_used: int = Field(ge=0)
    token_budget: int = Field(ge=0)
    seconds_left: float | None = None


class MessageEvent(_Sequenced):
    DURABLE: ClassVar[bool] = True
    type: Literal[EventType.MESSAGE] = EventType.MESSAGE
    message_id: str
    role: MessageRole
    text: str
    #: The student's idempotency key, echoed so the sender can match its optimistic render.
    client_id: str | None = None
    #: For a client-role message that came from a streamed reply.
    reply_id: str | None = None
    stopped: bool = False
    failed: bool = False


class ReplyStart(_Sequenced):
    DURABLE: ClassVar[bool] = True
    type: Literal[EventType.REPLY_START] = EventType.REPLY_START
    reply_id: str


class ReplyDelta(_Sequenced):
    type: Literal[EventType.REPLY_DELTA] = EventType.REPLY_DELTA
    reply_id: str
    text: str


class ReplyStop(_Sequenced):
    """A stop was requested (by anyone, on any worker); the streaming worker reacts to it."""

    DURABLE: ClassVar[bool] = True
    type: Literal[EventType.REPLY_STOP] = EventType.REPLY_STOP
    reply_id: str
    by: Role


class ReplyDone(_Sequenced):
    DURABLE: ClassVar[bool] = True
    type: Literal[EventType.REPLY_DONE] = EventType.REPLY_DONE
    reply_id: str
    message_id: str
    text: str
    usage: Usage
    #: True when the reply ended because of a stop; ``text`` is then the partial text.
    stopped: bool = False


class ReplyError(_Sequenced):
    DURABLE: ClassVar[bool] = True
    type: Literal[EventType.REPLY_ERROR] = EventType.REPLY_ERROR
    reply_id: str
    code: ReplyErrorCode
    message: str
    #: Set when partial text was kept as a ``failed`` message.
    message_id: str | None = None
    text: str = ""


class BudgetEvent(_Sequenced):
    type: Literal[EventType.BUDGET] = EventType.BUDGET
    tokens_used: int = Field(ge=0)
    token_budget: int = Field(ge=0)
    seconds_left: float | None = None
    #: Set once when a threshold is crossed; such a budget event is durable (audit).
    warning: BudgetWarning | None = None
    #: With a warning: the threshold crossed (one of policy.WARNING_LEVELS, in percent).
    percent: int | None = None

    @property
    def durable(self) -> bool:
        return self.warning is not None


class StatusEvent(_Sequenced):
    DURABLE: ClassVar[bool] = True
    type: Literal[EventType.STATUS] = EventType.STATUS
    status: SessionStatus
    reason: str | None = None


class PresenceEvent(_Sequenced):
    type: Literal[EventType.PRESENCE] = EventType.PRESENCE
    student_online: bool
    observers: int = Field(ge=0)


class Unreadable(_Sequenced):
    """A logged event this process cannot read: one written by a newer worker during a
    rolling deploy, or by a bug. It keeps its seq (no gap for resuming clients, which
    ignore unknown types) and becomes an ``unreadable_event`` audit row when flushed."""

    DURABLE: ClassVar[bool] = True
    type: Literal[EventType.UNREADABLE] = EventType.UNREADABLE
    #: The stored payload as text (cut to 2,000 chars) and why it could not be read.
    raw: str
    problem: str


FactStateName = Literal["locked", "unlocked", "disclosed"]


class FactView(BaseModel):
    """One hidden fact as observers see it in ``client.state``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    index: int = Field(ge=0)
    fact: str
    state: FactStateName
    #: The seq of the reply that disclosed it.
    disclosed_seq: int | None = None


class ClientStateEvent(_Sequenced):
    """The client's state kept by the app (trust, hidden facts), after each student turn
    and after each disclosure. Observers only: students never see it."""

    DURABLE: ClassVar[bool] = True
    OBSERVERS_ONLY: ClassVar[bool] = True
    type: Literal[EventType.CLIENT_STATE] = EventType.CLIENT_STATE
    trust: int = Field(ge=0, le=100)
    #: The change this event records, with its reasons ("complex reflection +6").
    delta: int = 0
    reasons: tuple[str, ...] = ()
    #: The seq of the student message (or reply) the change follows; 0 for the start.
    after_seq: int = Field(default=0, ge=0)
    facts: tuple[FactView, ...] = ()


class DirectionEvent(_Sequenced):
    """A teacher's private direction to the virtual client (``direct``); it shapes the
    client's next prompts and is audited. Observers only."""

    DURABLE: ClassVar[bool] = True
    OBSERVERS_ONLY: ClassVar[bool] = True
    type: Literal[EventType.DIRECTION] = EventType.DIRECTION
    text: str


class FlagView(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    flag: str
    reason: str


class ReplyFlagged(_Sequenced):
    """A client reply the persona checks flagged (speaking as an AI, counselling the
    student, quoting the prompt or a locked fact, third person, empty or runaway).
    Observers only."""

    DURABLE: ClassVar[bool] = True
    OBSERVERS_ONLY: ClassVar[bool] = True
    type: Literal[EventType.REPLY_FLAGGED] = EventType.REPLY_FLAGGED
    reply_id: str
    flags: tuple[FlagView, ...]
    #: What the server did: kept it flagged, or withdrew it and asked the model once more.
    action: Literal["flagged", "regenerated"] = "flagged"
    #: With ``regenerated``: the withdrawn reply's text (the student saw it stream).
    text: str = ""


class SessionRestarted(_Sequenced):
    """The session was restarted: ``next_session_id`` is its next attempt, ``attempt``
    that attempt's number. Published before this attempt ends, to students and observers;
    the audit row (``restarted``) is written with the new attempt, not by the flusher."""

    type: Literal[EventType.SESSION_RESTARTED] = EventType.SESSION_RESTARTED
    next_session_id: str
    attempt: int = Field(ge=2)


class StreamingReply(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    reply_id: str
    text: str


class Welcome(ServerModel):
    """First frame of a connection without ``after``; history ``message`` events follow."""

    type: Literal[EventType.WELCOME] = EventType.WELCOME
    session_id: str
    status: SessionStatus
    role: Role
    budget: BudgetState
    last_seq: int = Field(ge=0)
    epoch: str
    presence: Presence
    #: A reply being generated right now, with its text so far; its live deltas follow.
    streaming: StreamingReply | None = None
    #: Observers only: the client's state now (trust, hidden facts), if known.
    client_state: ClientStateEvent | None = None


class ErrorEvent(ServerModel):
    type: Literal[EventType.ERROR] = EventType.ERROR
    code: ErrorCode
    message: str


class Pong(ServerModel):
    type: Literal[EventType.PONG] = EventType.PONG
    nonce: str | None = None


class ResumeFailed(ServerModel):
    """``after`` cannot be honoured: reload (reconnect without ``after``). Never a silent gap."""

    type: Literal[EventType.RESUME_FAILED] = EventType.RESUME_FAILED
    reason: Literal["trimmed", "epoch_changed", "ahead"]
    after: int
    first_seq: int
    last_seq: int
    epoch: str
    message: str


SequencedEvent = Annotated[
    MessageEvent
    | ReplyStart
    | ReplyDelta
    | ReplyStop
    | ReplyDone
    | ReplyError
    | BudgetEvent
    | StatusEvent
    | PresenceEvent
    | ClientStateEvent
    | DirectionEvent
    | ReplyFlagged
    | SessionRestarted
    | ReplyUsage
    | Unreadable,
    Field(discriminator="type"),
]
_sequenced_adapter: TypeAdapter[SequencedEvent] = TypeAdapter(SequencedEvent)


#: What a command that failed for the server's own reason (a database or Redis blip)
#: answers: nothing was acknowledged, so the client may send it again.
UNAVAILABLE_MESSAGE = "The server could not do that just now; try again."


def error(code: ErrorCode, message: str) -> ErrorEvent:
    """The ``error`` frame refusing one client frame."""
    return ErrorEvent(code=code, message=message)


def failure_code(code: FailureCode) -> ReplyErrorCode:
    """A provider's failure code as a ``reply.error`` code (the same words)."""
    return ReplyErrorCode(code)


def encode(event: ServerModel) -> str:
    """The JSON text frame for ``event``. Raises ValueError for a sequenced event not yet
    appended (``seq == 0``): sending it would break the client's resume cursor."""
    if event.SEQUENCED and getattr(event, "seq", 0) < 1:
        raise ValueError(f"{type(event).__name__} has no seq yet; append it first")
    return dump_json(event)


def payload(event: ServerModel) -> dict[str, Any]:
    """The event as stored in a log (``seq`` left out: the log's position is the seq)."""
    return event.model_dump(mode="json", exclude={"seq"})


def payload_json(event: ServerModel) -> str:
    """:func:`payload` as compact JSON, what the Redis log stores."""
    return dump_json(event, without="seq")


def stamped_json(stored: str, seq: int) -> str:
    """:func:`encode` of a sequenced event appended at ``seq``, from its
    :func:`payload_json` ``stored``, without encoding it again: ``seq`` is every sequenced
    event's first field (:class:`realtime.eventbase.Sequenced` declares it before any
    subclass's), so the text is ``stored`` with it spliced in front (a test holds every
    event type to that): 0.4 against 4.2 us for a benchmark's delta."""
    return f'{{"seq":{seq},{stored[1:]}'


def decode_event(stored: str | bytes, seq: int) -> SequencedEvent:
    """A stored :func:`payload_json` back as a typed event with its ``seq``; never raises:
    what no event type accepts comes back as :class:`Unreadable`.

    First in one step: ``seq`` appended as the object's last key (the last of a repeated
    key wins, as below) and the text validated by pydantic's own parser, 1.3 against
    2.4 us for a delta; what that refuses (a lone surrogate's escape, a text that is no
    object) is read again the careful way, which words the problem."""
    if stored[-1:] in ("}", b"}"):
        tail = f',"seq":{seq}}}'
        try:
            if isinstance(stored, str):
                return _sequenced_adapter.validate_json(stored[:-1] + tail)
            return _sequenced_adapter.validate_json(stored[:-1] + tail.encode())
        except ValueError:
            pass
    try:
        data = json.loads(stored)
        if not isinstance(data, dict):
            raise ValueError("an event must be a JSON object")
        data["seq"] = seq
        return _sequenced_adapter.validate_python(data)
    except (ValueError, RecursionError) as problem:  # ValidationError is a ValueError
        text = stored if isinstance(stored, str) else stored.decode("utf-8", "replace")
        return Unreadable(seq=seq, raw=text[:2_000], problem=f"{problem}"[:500])
