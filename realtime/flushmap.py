"""What each durable log event becomes in SQL (pure: no I/O, no clock).

The flusher reads a batch of durable events, asks :func:`plan` for the rows, inserts them
idempotently (``(session_id, seq)`` is unique in both tables), commits, and only then trims
the batch from the durable stream (``upto``).

=====================  ===================================================================
durable event          rows
=====================  ===================================================================
``message`` student    ``messages`` (id = ``message_id``, client_id)
``message`` whisper    ``messages`` role whisper + ``session_events`` kind ``whisper``
``reply.done``         ``messages`` role client, tokens, ``stopped``
``reply.error``        ``session_events`` kind ``reply_failed``; with partial text also a
                       ``messages`` row role client ``failed=True``
``reply.stop``         ``session_events`` kind ``reply_stopped`` {reply_id, by}
``budget`` + warning   ``session_events`` kind ``budget_warning``
``status``             nothing (SessionControl writes the audit row in its transaction)
``reply.start``        nothing
=====================  ===================================================================

Deltas never reach the durable stream. An event that cannot be read (a bug elsewhere)
becomes an ``unreadable_event`` audit row rather than blocking the flush forever.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from realtime.protocol import MessageRole
from realtime.transcript import message_from_event

#: Names a non-UUID ``message_id`` deterministically, so a replay maps to the same row.
MESSAGE_ID_NAMESPACE = uuid.UUID("6f1c7a52-3d55-4f43-9f0e-2a8b5c1d7e90")

ACTOR_LLM = "system:llm"
ACTOR_BUDGET = "system:budget"
ACTOR_FLUSHER = "system:flusher"


@dataclass(frozen=True, slots=True)
class MessageRow:
    id: uuid.UUID
    seq: int
    role: str
    text: str
    client_id: str | None = None
    reply_id: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    stopped: bool = False
    failed: bool = False


@dataclass(frozen=True, slots=True)
class AuditRow:
    seq: int
    kind: str
    actor: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FlushPlan:
    messages: tuple[MessageRow, ...]
    audits: tuple[AuditRow, ...]
    #: Highest seq of the batch: trim up to here once the rows are committed.
    upto: int


def message_uuid(message_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(message_id)
    except ValueError:
        return uuid.uuid5(MESSAGE_ID_NAMESPACE, message_id)


def _usage(event: Mapping[str, Any]) -> tuple[int, int]:
    usage = event.get("usage") or {}
    return int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))


def _budget_kind(warning: str) -> str:
    return {"tokens_low": "tokens", "time_low": "time"}.get(warning, warning)


def rows_of(event: Mapping[str, Any]) -> tuple[list[MessageRow], list[AuditRow]]:
    """The rows one durable event stands for. Raises KeyError, ValueError or
    ValidationError on a malformed event (see :func:`plan`)."""
    seq = int(event["seq"])
    kind = event.get("type")
    messages: list[MessageRow] = []
    audits: list[AuditRow] = []
    message = message_from_event(event)
    if message is not None:
        input_tokens, output_tokens = _usage(event) if kind == "reply.done" else (0, 0)
        messages.append(
            MessageRow(
                id=message_uuid(message.message_id),
                seq=seq,
                role=message.role.value,
                text=message.text,
                client_id=message.client_id,
                reply_id=message.reply_id,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                stopped=message.stopped,
                failed=message.failed,
            )
        )
        if kind == "message" and message.role is MessageRole.WHISPER:
            whisper = {"message_id": message.message_id, "text": message.text}
            audits.append(AuditRow(seq, "whisper", "teacher", whisper))
    if kind == "reply.error":
        data: dict[str, Any] = {
            "reply_id": event["reply_id"],
            "code": event.get("code"),
            "message": event.get("message"),
            "message_id": event.get("message_id"),
        }
        audits.append(AuditRow(seq, "reply_failed", ACTOR_LLM, data))
    elif kind == "reply.stop":
        by = str(event.get("by") or "unknown")
        audits.append(AuditRow(seq, "reply_stopped", by, {"reply_id": event["reply_id"], "by": by}))
    elif kind == "budget" and event.get("warning"):
        warning = str(event["warning"])
        data = {
            "budget": _budget_kind(warning),
            "warning": warning,
            "percent": event.get("percent"),
            "tokens_used": event.get("tokens_used"),
            "token_budget": event.get("token_budget"),
            "seconds_left": event.get("seconds_left"),
        }
        audits.append(AuditRow(seq, "budget_warning", ACTOR_BUDGET, data))
    return messages, audits


def plan(events: Iterable[Mapping[str, Any]]) -> FlushPlan:
    """Rows for a batch of durable events (in seq order). Never raises for a bad event:
    it becomes an ``unreadable_event`` audit row, so one bug cannot stall a session."""
    messages: list[MessageRow] = []
    audits: list[AuditRow] = []
    upto = 0
    for event in events:
        seq = int(event["seq"])  # the log always sets it; a missing seq is a log bug
        upto = max(upto, seq)
        try:
            more_messages, more_audits = rows_of(event)
        except (KeyError, TypeError, ValueError, ValidationError) as error:
            data = {"event": dict(event), "error": f"{type(error).__name__}: {error}"[:500]}
            audits.append(AuditRow(seq, "unreadable_event", ACTOR_FLUSHER, data))
            continue
        messages += more_messages
        audits += more_audits
    return FlushPlan(tuple(messages), tuple(audits), upto)
