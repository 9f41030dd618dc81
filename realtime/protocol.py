"""The wire protocol of a session socket: one tagged union each way (discriminator ``type``).

Pure: no I/O. Client frames go through :func:`parse_client_frame`, which never raises on
bad input and answers a :class:`ProtocolError` instead. Server events are pydantic models;
:func:`encode` turns one into the JSON text frame. ``docs/protocol.md`` is the prose version.

Sequenced events carry ``seq``; the event log assigns it (``0`` means "not yet assigned"),
so producers build an event with the default ``seq=0``, append :func:`payload` of it, and
read back dicts that :func:`decode_event` turns into models again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from realtime.lifecycle import SessionStatus

# ---------------------------------------------------------------------------------------------
# Limits and errors


@dataclass(frozen=True, slots=True)
class ClientLimits:
    """Bounds applied to client frames; the server passes them in from settings."""

    #: Frames above this are refused unparsed: a say of 4,000 chars of 4-byte UTF-8 plus
    #: envelope is ~16 KiB, so 64 KiB leaves room and still stops abuse cheaply.
    max_frame_bytes: int = 64 * 1024
    #: A student turn in a role-play interview; longer texts are pasted documents.
    max_say_chars: int = 4_000
    max_whisper_chars: int = 4_000
    #: client_id is an opaque idempotency key (a UUID is 36 chars).
    max_client_id_chars: int = 64


class ErrorCode(StrEnum):
    BAD_JSON = "bad_json"
    UNKNOWN_TYPE = "unknown_type"
    INVALID = "invalid"
    TOO_LARGE = "too_large"
    TEXT_TOO_LONG = "text_too_long"
    # Not produced by parsing; used by the hub when answering a well-formed but refused frame.
    FORBIDDEN = "forbidden"
    NOT_ALLOWED = "not_allowed"
    RATE_LIMITED = "rate_limited"
    INTERNAL = "internal"


@dataclass(frozen=True, slots=True)
class ProtocolError:
    """Why a client frame was refused. Turn it into the wire event with :meth:`to_event`."""

    code: ErrorCode
    message: str

    def to_event(self) -> ErrorEvent:
        return ErrorEvent(code=self.code.value, message=self.message)


# ---------------------------------------------------------------------------------------------
# Client -> server


class _ClientModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Say(_ClientModel):
    type: Literal["say"]
    text: str = Field(min_length=1)
    client_id: str = Field(min_length=1)


class Stop(_ClientModel):
    type: Literal["stop"]
    #: Optional: the reply to stop; without it the session's running reply is stopped.
    reply_id: str | None = Field(default=None, min_length=1, max_length=64)


class Pause(_ClientModel):
    type: Literal["pause"]


class Resume(_ClientModel):
    type: Literal["resume"]


class End(_ClientModel):
    type: Literal["end"]


class Whisper(_ClientModel):
    type: Literal["whisper"]
    text: str = Field(min_length=1)


class Ping(_ClientModel):
    type: Literal["ping"]
    #: Echoed in the pong so a client can measure round trips.
    nonce: str | None = Field(default=None, max_length=64)


ClientMessage = Annotated[
    Say | Stop | Pause | Resume | End | Whisper | Ping, Field(discriminator="type")
]
CLIENT_TYPES: frozenset[str] = frozenset(
    {"say", "stop", "pause", "resume", "end", "whisper", "ping"}
)
_client_adapter: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)


def _frame_too_large(raw: str | bytes, limit: int) -> bool:
    if len(raw) > limit:
        return True
    if isinstance(raw, bytes) or len(raw) * 4 <= limit:
        return False
    return len(raw.encode("utf-8", "surrogatepass")) > limit


def _describe(error: ValidationError) -> str:
    first = error.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"][1:]) or "frame"
    return f"{where}: {first['msg']}"


def parse_client_frame(raw: str | bytes, limits: ClientLimits) -> ClientMessage | ProtocolError:
    """Parse one client text/binary frame. Pure; never raises on bad input."""
    if _frame_too_large(raw, limits.max_frame_bytes):
        return ProtocolError(
            ErrorCode.TOO_LARGE, f"frame larger than {limits.max_frame_bytes} bytes"
        )
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return ProtocolError(ErrorCode.BAD_JSON, "frame is not valid UTF-8 JSON")
    if not isinstance(data, dict):
        return ProtocolError(ErrorCode.INVALID, "frame must be a JSON object")
    kind = data.get("type")
    if not isinstance(kind, str):
        return ProtocolError(ErrorCode.INVALID, "frame needs a string 'type'")
    if kind not in CLIENT_TYPES:
        return ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown message type {kind[:40]!r}")
    try:
        message = _client_adapter.validate_python(data)
    except ValidationError as error:
        return ProtocolError(ErrorCode.INVALID, _describe(error))
    return _check_lengths(message, limits)


def _check_lengths(message: ClientMessage, limits: ClientLimits) -> ClientMessage | ProtocolError:
    if isinstance(message, Say):
        if len(message.client_id) > limits.max_client_id_chars:
            return ProtocolError(
                ErrorCode.INVALID, f"client_id longer than {limits.max_client_id_chars} chars"
            )
        if len(message.text) > limits.max_say_chars:
            return ProtocolError(
                ErrorCode.TEXT_TOO_LONG, f"text longer than {limits.max_say_chars} characters"
            )
        if not message.text.strip():
            return ProtocolError(ErrorCode.INVALID, "text: must not be blank")
    if isinstance(message, Whisper):
        if len(message.text) > limits.max_whisper_chars:
            return ProtocolError(
                ErrorCode.TEXT_TOO_LONG, f"text longer than {limits.max_whisper_chars} characters"
            )
        if not message.text.strip():
            return ProtocolError(ErrorCode.INVALID, "text: must not be blank")
    return message


# ---------------------------------------------------------------------------------------------
# Server -> client


class Role(StrEnum):
    STUDENT = "student"
    TEACHER = "teacher"


class MessageRole(StrEnum):
    STUDENT = "student"
    CLIENT = "client"
    WHISPER = "whisper"


class _ServerModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    #: Class-level durability: flushed to SQL by the flusher. See :func:`is_durable`.
    DURABLE: ClassVar[bool] = False
    SEQUENCED: ClassVar[bool] = False

    @property
    def durable(self) -> bool:
        return self.DURABLE


#: Public name of the base of every server event (for type hints outside this module).
ServerModel = _ServerModel


class _Sequenced(_ServerModel):
    SEQUENCED: ClassVar[bool] = True
    #: Assigned by the event log; 0 = not yet appended.
    seq: int = Field(default=0, ge=0)


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
    type: Literal["message"] = "message"
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
    type: Literal["reply.start"] = "reply.start"
    reply_id: str


class ReplyDelta(_Sequenced):
    type: Literal["reply.delta"] = "reply.delta"
    reply_id: str
    text: str


class ReplyStop(_Sequenced):
    """A stop was requested (by anyone, on any worker); the streaming worker reacts to it."""

    DURABLE: ClassVar[bool] = True
    type: Literal["reply.stop"] = "reply.stop"
    reply_id: str
    by: Role


class ReplyDone(_Sequenced):
    DURABLE: ClassVar[bool] = True
    type: Literal["reply.done"] = "reply.done"
    reply_id: str
    message_id: str
    text: str
    usage: Usage
    #: True when the reply ended because of a stop; ``text`` is then the partial text.
    stopped: bool = False


class ReplyError(_Sequenced):
    DURABLE: ClassVar[bool] = True
    type: Literal["reply.error"] = "reply.error"
    reply_id: str
    code: str
    message: str
    #: Set when partial text was kept as a ``failed`` message.
    message_id: str | None = None
    text: str = ""


class BudgetEvent(_Sequenced):
    type: Literal["budget"] = "budget"
    tokens_used: int = Field(ge=0)
    token_budget: int = Field(ge=0)
    seconds_left: float | None = None
    #: Set once when a threshold is crossed; such a budget event is durable (audit).
    warning: Literal["tokens_low", "time_low", "exhausted"] | None = None
    #: With a warning: the threshold crossed (80 or 95 percent of that budget).
    percent: int | None = None

    @property
    def durable(self) -> bool:
        return self.warning is not None


class StatusEvent(_Sequenced):
    DURABLE: ClassVar[bool] = True
    type: Literal["status"] = "status"
    status: SessionStatus
    reason: str | None = None


class PresenceEvent(_Sequenced):
    type: Literal["presence"] = "presence"
    student_online: bool
    observers: int = Field(ge=0)


class StreamingReply(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    reply_id: str
    text: str


class Welcome(_ServerModel):
    """First frame of a connection without ``after``; history ``message`` events follow."""

    type: Literal["welcome"] = "welcome"
    session_id: str
    status: SessionStatus
    role: Role
    budget: BudgetState
    last_seq: int = Field(ge=0)
    epoch: str
    presence: Presence
    #: A reply being generated right now, with its text so far; its live deltas follow.
    streaming: StreamingReply | None = None


class ErrorEvent(_ServerModel):
    type: Literal["error"] = "error"
    code: str
    message: str


class Pong(_ServerModel):
    type: Literal["pong"] = "pong"
    nonce: str | None = None


class ResumeFailed(_ServerModel):
    """``after`` cannot be honoured: reload (reconnect without ``after``). Never a silent gap."""

    type: Literal["resume.failed"] = "resume.failed"
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
    | PresenceEvent,
    Field(discriminator="type"),
]
ServerEvent = Annotated[
    MessageEvent
    | ReplyStart
    | ReplyDelta
    | ReplyStop
    | ReplyDone
    | ReplyError
    | BudgetEvent
    | StatusEvent
    | PresenceEvent
    | Welcome
    | ErrorEvent
    | Pong
    | ResumeFailed,
    Field(discriminator="type"),
]
_sequenced_adapter: TypeAdapter[SequencedEvent] = TypeAdapter(SequencedEvent)
_DURABLE_TYPES: frozenset[str] = frozenset(
    {"message", "reply.start", "reply.stop", "reply.done", "reply.error", "status"}
)


def encode(event: _ServerModel) -> str:
    """The JSON text frame for ``event``. Raises ValueError for a sequenced event not yet
    appended (``seq == 0``): sending it would break the client's resume cursor."""
    if event.SEQUENCED and getattr(event, "seq", 0) < 1:
        raise ValueError(f"{type(event).__name__} has no seq yet; append it first")
    return event.model_dump_json()


def payload(event: _ServerModel) -> dict[str, Any]:
    """The dict to hand to ``RealtimeBackend.append`` (``seq`` left out: the log assigns it)."""
    return event.model_dump(mode="json", exclude={"seq"})


def decode_event(data: Mapping[str, Any]) -> SequencedEvent:
    """A logged event (dict with ``seq``) back as a model. Raises pydantic.ValidationError."""
    return _sequenced_adapter.validate_python(data)


def is_durable(event: _ServerModel | Mapping[str, Any]) -> bool:
    """Whether the flusher must store ``event`` in SQL: messages (whispers included), reply
    start/stop/done/error, status changes and budget warnings. Deltas, plain budget ticks and
    presence are sequenced but live-only. Accepts a model or a payload dict."""
    if isinstance(event, _ServerModel):
        return event.durable
    kind = event.get("type")
    if kind == "budget":
        return event.get("warning") is not None
    return kind in _DURABLE_TYPES
