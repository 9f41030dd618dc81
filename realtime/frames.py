"""Client -> server frames: one tagged union (discriminator ``type``) and its parser.

Pure: no I/O. :func:`parse_client_frame` never raises on bad input; it answers a
:class:`ProtocolError` instead, which the connection turns into an ``error`` frame.
Text SQL cannot store (a NUL, an unpaired surrogate) is refused here with ``invalid``,
by the same rule as the HTTP API's (``storage.text``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from realtime.events import ErrorEvent
from realtime.vocabulary import ClientType, ErrorCode
from storage.text import check_storable_text

__all__ = [
    "ClientLimits",
    "ClientMessage",
    "Direct",
    "End",
    "Pause",
    "Ping",
    "ProtocolError",
    "Resume",
    "Say",
    "Stop",
    "Whisper",
    "parse_client_frame",
]


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


@dataclass(frozen=True, slots=True)
class ProtocolError:
    """Why a client frame was refused; the connection sends it as an ``error`` frame."""

    code: ErrorCode
    message: str

    def to_event(self) -> ErrorEvent:
        return ErrorEvent(code=self.code, message=self.message)


class _ClientModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Say(_ClientModel):
    type: Literal[ClientType.SAY]
    text: str = Field(min_length=1)
    client_id: str = Field(min_length=1)


class Stop(_ClientModel):
    type: Literal[ClientType.STOP]
    #: Optional: the reply to stop; without it the session's running reply is stopped.
    reply_id: str | None = Field(default=None, min_length=1, max_length=64)


class Pause(_ClientModel):
    type: Literal[ClientType.PAUSE]


class Resume(_ClientModel):
    type: Literal[ClientType.RESUME]


class End(_ClientModel):
    type: Literal[ClientType.END]


class Whisper(_ClientModel):
    type: Literal[ClientType.WHISPER]
    text: str = Field(min_length=1)


class Direct(_ClientModel):
    """A teacher's private note to the virtual client for its next replies."""

    type: Literal[ClientType.DIRECT]
    text: str = Field(min_length=1)


class Ping(_ClientModel):
    type: Literal[ClientType.PING]
    #: Echoed in the pong so a client can measure round trips.
    nonce: str | None = Field(default=None, max_length=64)


ClientMessage = Annotated[
    Say | Stop | Pause | Resume | End | Whisper | Direct | Ping, Field(discriminator="type")
]
_CLIENT_TYPES = frozenset(ClientType)
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
    if kind not in _CLIENT_TYPES:
        return ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown message type {kind[:40]!r}")
    # Strict models take enum members for the discriminator, never plain strings.
    data["type"] = ClientType(kind)
    try:
        message = _client_adapter.validate_python(data)
    except ValidationError as error:
        return ProtocolError(ErrorCode.INVALID, _describe(error))
    return _check_text(message, limits)


def _check_text(message: ClientMessage, limits: ClientLimits) -> ClientMessage | ProtocolError:
    match message:
        case Say():
            if len(message.client_id) > limits.max_client_id_chars:
                return ProtocolError(
                    ErrorCode.INVALID, f"client_id longer than {limits.max_client_id_chars} chars"
                )
            if problem := check_storable_text(message.client_id):
                return ProtocolError(ErrorCode.INVALID, f"client_id: {problem}")
            return _text_error(message.text, limits.max_say_chars) or message
        case Whisper() | Direct():
            return _text_error(message.text, limits.max_whisper_chars) or message
        case _:
            return message


def _text_error(text: str, max_chars: int) -> ProtocolError | None:
    if len(text) > max_chars:
        return ProtocolError(ErrorCode.TEXT_TOO_LONG, f"text longer than {max_chars} characters")
    if not text.strip():
        return ProtocolError(ErrorCode.INVALID, "text: must not be blank")
    # What SQL cannot store is refused here, the same on every database, instead of
    # being acknowledged and then failing in the flusher.
    if problem := check_storable_text(text):
        return ProtocolError(ErrorCode.INVALID, f"text: {problem}")
    return None
