"""What each durable log event becomes in SQL (pure: no I/O, no clock).

The flusher reads a batch of durable events, asks :func:`plan` for the rows, inserts them
idempotently (``(session_id, seq)`` is unique in all three tables), commits, and only then trims
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
``unreadable``         ``session_events`` kind ``unreadable_event`` (raw text, problem)
``client.state``       ``session_events`` kind ``client_state`` (trust, change, facts)
``direction``          ``session_events`` kind ``direction`` {text}
``reply.flagged``      ``session_events`` kind ``reply_flagged`` {reply_id, flags, action}
``reply.usage``        ``api_usage`` (keyed by ``(session_id, seq)``) when the call was
                       metered; ``sessions.tokens_used`` raised to the batch's highest
(any, refused by SQL)  ``session_events`` kind ``event_set_aside`` (escaped JSON, error)
=====================  ===================================================================

Deltas never reach the durable stream. An event that cannot be read (a newer worker's,
or a bug) becomes an ``unreadable_event`` audit row rather than blocking the flush.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from realtime.events import (
    BudgetEvent,
    CallUsage,
    ClientStateEvent,
    DirectionEvent,
    MessageEvent,
    ReplyDone,
    ReplyError,
    ReplyFlagged,
    ReplyStop,
    ReplyUsage,
    SequencedEvent,
    Unreadable,
    Usage,
)
from realtime.transcript import message_from_event
from realtime.vocabulary import BudgetWarning, MessageRole

#: Names a non-UUID ``message_id`` deterministically, so a replay maps to the same row.
MESSAGE_ID_NAMESPACE = uuid.UUID("6f1c7a52-3d55-4f43-9f0e-2a8b5c1d7e90")

ACTOR_LLM = "system:llm"
ACTOR_BUDGET = "system:budget"
ACTOR_FLUSHER = "system:flusher"
ACTOR_APP = "system:client_state"


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
class UsageRow:
    """An ``api_usage`` row: a metered call, its columns those of ``call``."""

    seq: int
    owner_id: uuid.UUID
    call: CallUsage

    def columns(self) -> dict[str, Any]:
        return {**self.call.model_dump(), "seq": self.seq, "owner_id": self.owner_id}


@dataclass(frozen=True, slots=True)
class FlushPlan:
    messages: tuple[MessageRow, ...]
    audits: tuple[AuditRow, ...]
    #: Highest seq of the batch: trim up to here once the rows are committed.
    upto: int
    usage: tuple[UsageRow, ...] = ()
    #: The highest session token count the batch's usage events settled (None: none).
    tokens_used: int | None = None


def message_uuid(message_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(message_id)
    except ValueError:
        return uuid.uuid5(MESSAGE_ID_NAMESPACE, message_id)


_NO_USAGE = Usage(input_tokens=0, output_tokens=0)
_BUDGET_KIND = {BudgetWarning.TOKENS_LOW: "tokens", BudgetWarning.TIME_LOW: "time"}


def rows_of(event: SequencedEvent) -> tuple[list[MessageRow], list[AuditRow]]:
    """The rows one durable event stands for."""
    messages: list[MessageRow] = []
    audits: list[AuditRow] = []
    seq = event.seq
    message = message_from_event(event)
    if message is not None:
        usage = event.usage if isinstance(event, ReplyDone) else _NO_USAGE
        messages.append(
            MessageRow(
                id=message_uuid(message.message_id),
                seq=seq,
                role=message.role.value,
                text=message.text,
                client_id=message.client_id,
                reply_id=message.reply_id,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                stopped=message.stopped,
                failed=message.failed,
            )
        )
    match event:
        case MessageEvent(role=MessageRole.WHISPER):
            whisper = {"message_id": event.message_id, "text": event.text}
            audits.append(AuditRow(seq, "whisper", "teacher", whisper))
        case ReplyError():
            data: dict[str, Any] = {
                "reply_id": event.reply_id,
                "code": event.code.value,
                "message": event.message,
                "message_id": event.message_id,
            }
            audits.append(AuditRow(seq, "reply_failed", ACTOR_LLM, data))
        case ReplyStop():
            by = event.by.value
            stopped = {"reply_id": event.reply_id, "by": by}
            audits.append(AuditRow(seq, "reply_stopped", by, stopped))
        case BudgetEvent(warning=BudgetWarning() as warning):
            data = {
                "budget": _BUDGET_KIND[warning],
                "warning": warning.value,
                "percent": event.percent,
                "tokens_used": event.tokens_used,
                "token_budget": event.token_budget,
                "seconds_left": event.seconds_left,
            }
            audits.append(AuditRow(seq, "budget_warning", ACTOR_BUDGET, data))
        case Unreadable():
            data = {"event": event.raw, "error": event.problem}
            audits.append(AuditRow(seq, "unreadable_event", ACTOR_FLUSHER, data))
        case ClientStateEvent():
            data = event.model_dump(mode="json", include={"trust", "delta", "reasons", "after_seq"})
            data["facts"] = [fact.model_dump(mode="json") for fact in event.facts]
            audits.append(AuditRow(seq, "client_state", ACTOR_APP, data))
        case DirectionEvent():
            audits.append(AuditRow(seq, "direction", "teacher", {"text": event.text}))
        case ReplyFlagged():
            data = event.model_dump(mode="json", include={"reply_id", "flags", "action"})
            audits.append(AuditRow(seq, "reply_flagged", ACTOR_APP, data))
        case _:
            pass
    return messages, audits


def set_aside_row(event: SequencedEvent, problem: str) -> AuditRow:
    """The audit row that keeps an event SQL refused to store (a NUL in PostgreSQL text, a
    lone surrogate anywhere): the whole event as ASCII-escaped JSON text, which any
    database stores, and why it was refused."""
    kept = json.dumps(event.model_dump(mode="json"), ensure_ascii=True)
    why = problem.encode("ascii", "backslashreplace").decode("ascii")[:500]
    return AuditRow(event.seq, "event_set_aside", ACTOR_FLUSHER, {"event": kept, "error": why})


def usage_row(event: ReplyUsage) -> UsageRow | None:
    """The ``api_usage`` row of a ``reply.usage`` event; None for an unmetered call."""
    call = event.call
    if call is None:
        return None
    return UsageRow(event.seq, event.owner_id, call)


def plan(events: Iterable[SequencedEvent]) -> FlushPlan:
    """Rows for a batch of durable events (in seq order). Never raises: an event the log
    could not read arrives as ``Unreadable`` and becomes an ``unreadable_event`` audit
    row, so one bug cannot stall a session."""
    messages: list[MessageRow] = []
    audits: list[AuditRow] = []
    usage: list[UsageRow] = []
    tokens_used: int | None = None
    upto = 0
    for event in events:
        upto = max(upto, event.seq)
        if isinstance(event, ReplyUsage):
            row = usage_row(event)
            usage += [row] if row is not None else []
            tokens_used = max(tokens_used or 0, event.tokens_used)
            continue
        more_messages, more_audits = rows_of(event)
        messages += more_messages
        audits += more_audits
    return FlushPlan(tuple(messages), tuple(audits), upto, tuple(usage), tokens_used)


Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Inserts:
    """What one transaction writes for one or more sessions' plans: rows per table, each
    with its session and ``created_at``, and each session's token count to raise to."""

    messages: list[Row]
    audits: list[Row]
    usage: list[Row]
    tokens_used: dict[uuid.UUID, int]


def insert_rows(plans: Sequence[tuple[uuid.UUID, FlushPlan]], now: datetime) -> Inserts:
    """:class:`Inserts` for ``plans``, every row stamped ``created_at`` = ``now``."""

    def rows(pick: Callable[[FlushPlan], Iterable[Row]]) -> list[Row]:
        return [
            {**row, "session_id": sid, "created_at": now}
            for sid, batch in plans
            for row in pick(batch)
        ]

    tokens_used: dict[uuid.UUID, int] = {}
    for sid, batch in plans:
        if batch.tokens_used is not None:
            tokens_used[sid] = max(tokens_used.get(sid, 0), batch.tokens_used)
    return Inserts(
        rows(lambda b: map(asdict, b.messages)),
        rows(lambda b: map(asdict, b.audits)),
        rows(lambda b: (u.columns() for u in b.usage)),
        tokens_used,
    )
