"""The one vocabulary of the session socket: event types, error codes, close codes, roles.

Nothing else spells these as string literals: producers and consumers name the members,
``docs/protocol.md`` describes them, and ``web/js`` keeps its copy checked against this
module by ``tests/realtime/unit/test_rt_vocabulary.py``. Pure: no I/O, no imports of ours.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

__all__ = [
    "BudgetWarning",
    "ClientType",
    "CloseCode",
    "ErrorCode",
    "EventType",
    "MessageRole",
    "ReplyErrorCode",
    "Role",
]


class EventType(StrEnum):
    """``type`` of every server -> client frame."""

    # Sequenced (carry ``seq``; the session log assigns it).
    MESSAGE = "message"
    REPLY_START = "reply.start"
    REPLY_DELTA = "reply.delta"
    REPLY_STOP = "reply.stop"
    REPLY_DONE = "reply.done"
    REPLY_ERROR = "reply.error"
    BUDGET = "budget"
    STATUS = "status"
    PRESENCE = "presence"
    #: An event this worker cannot read (a newer worker's, mid-deploy); clients skip it.
    UNREADABLE = "unreadable"
    # Sequenced, for observers only (a student's socket never receives them).
    CLIENT_STATE = "client.state"
    DIRECTION = "direction"
    REPLY_FLAGGED = "reply.flagged"
    #: What one provider call of a reply used and cost: also the flusher's ``api_usage`` row.
    REPLY_USAGE = "reply.usage"
    #: The session was restarted: a new attempt follows (student and observers).
    SESSION_RESTARTED = "session.restarted"
    # Addressed to one socket (no ``seq``).
    WELCOME = "welcome"
    ERROR = "error"
    PONG = "pong"
    RESUME_FAILED = "resume.failed"


class ClientType(StrEnum):
    """``type`` of every client -> server frame."""

    SAY = "say"
    STOP = "stop"
    PAUSE = "pause"
    RESUME = "resume"
    END = "end"
    WHISPER = "whisper"
    DIRECT = "direct"
    PING = "ping"


class ErrorCode(StrEnum):
    """``code`` of an ``error`` frame: why one client frame was refused."""

    # The frame itself (parsing).
    BAD_JSON = "bad_json"
    UNKNOWN_TYPE = "unknown_type"
    INVALID = "invalid"
    TOO_LARGE = "too_large"
    TEXT_TOO_LONG = "text_too_long"
    # A well-formed frame the session refuses now.
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    NOT_ACTIVE = "not_active"
    REPLY_IN_PROGRESS = "reply_in_progress"
    NOTHING_TO_STOP = "nothing_to_stop"
    BUDGET_EXHAUSTED = "budget_exhausted"
    MONTHLY_CAP_REACHED = "monthly_cap_reached"
    ILLEGAL_TRANSITION = "illegal_transition"
    CONFLICT = "conflict"
    # The server could not do it just now (a store blip); nothing was acknowledged.
    UNAVAILABLE = "unavailable"
    # Past capacity: this worker's reply slots and queue are full; nothing was stored.
    BUSY = "busy"


class ReplyErrorCode(StrEnum):
    """``code`` of a ``reply.error``: the provider's failure codes (``llm.base.FailureCode``)
    plus the server's own ``interrupted`` (a worker died or shut down mid-reply)."""

    UNAVAILABLE = "unavailable"
    RATE_LIMITED = "rate_limited"
    INTERRUPTED = "interrupted"
    BAD_REQUEST = "bad_request"
    INTERNAL = "internal"
    #: The provider refused for a spending cap or an empty balance (never retried): the
    #: teacher must raise it; saying again will not help.
    SPEND_LIMIT = "spend_limit"
    #: The persona checks flagged the reply and the server asks for it once more
    #: (``REPLY_INTEGRITY=regenerate``); a new reply follows at once.
    WITHDRAWN = "withdrawn"


class CloseCode(IntEnum):
    """WebSocket close codes the server sends after accepting a socket."""

    #: Too many refused frames: an abusive or broken client.
    ABUSE = 1008
    #: This worker is shutting down, or must re-check every socket's credentials (it may
    #: have missed a revocation): reconnect (with ``after``), the handshake checks again.
    RESTART = 1012
    #: What let this socket in was revoked (the join link was replaced; the teacher logged
    #: out or changed their password): do not reconnect, the handshake would be refused.
    REVOKED = 4003
    #: The send queue stayed full too long: reconnect with ``after``.
    TOO_SLOW = 4008
    #: ``after`` cannot be honoured: reconnect without it (``resume.failed`` came first).
    RELOAD = 4009
    #: This user, or this address, already holds the most sockets a worker allows
    #: (WS_MAX_SOCKETS_PER_USER / _PER_ADDRESS): close other tabs; reconnecting at once
    #: would be refused again.
    TOO_MANY_SOCKETS = 4029


class Role(StrEnum):
    """Who is on a socket."""

    STUDENT = "student"
    TEACHER = "teacher"


class MessageRole(StrEnum):
    """Who wrote a ``message``."""

    STUDENT = "student"
    CLIENT = "client"
    WHISPER = "whisper"


class BudgetWarning(StrEnum):
    """``warning`` of a ``budget`` event."""

    TOKENS_LOW = "tokens_low"
    TIME_LOW = "time_low"
