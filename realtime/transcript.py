"""A session's complete messages: SQL (flushed) plus the durable live log (not yet
flushed), merged by seq. Pure conversion functions plus one loader."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from llm.base import Persona, Turn
from realtime.backends import RealtimeBackend
from realtime.protocol import MessageEvent, MessageRole
from storage.db import Database
from storage.models import ClientProfile, Message
from storage.repos import transcripts as transcript_repo

# Durable events read per round trip while loading a transcript.
DURABLE_PAGE = 1_000


def message_from_event(event: Mapping[str, Any]) -> MessageEvent | None:
    """The complete message a durable log event stands for, if any."""
    kind = event.get("type")
    seq = int(event["seq"])
    if kind == "message":
        return MessageEvent.model_validate(event)
    if kind == "reply.done":
        return MessageEvent(
            seq=seq,
            message_id=event["message_id"],
            role=MessageRole.CLIENT,
            text=event["text"],
            reply_id=event["reply_id"],
            stopped=bool(event.get("stopped", False)),
        )
    if kind == "reply.error" and event.get("message_id"):
        return MessageEvent(
            seq=seq,
            message_id=event["message_id"],
            role=MessageRole.CLIENT,
            text=event.get("text", ""),
            reply_id=event["reply_id"],
            failed=True,
        )
    return None


def message_from_row(row: Message) -> MessageEvent:
    return MessageEvent(
        seq=row.seq,
        message_id=str(row.id),
        role=MessageRole(row.role),
        text=row.text,
        client_id=row.client_id,
        reply_id=row.reply_id,
        stopped=row.stopped,
        failed=row.failed,
    )


def merge(stored: Iterable[MessageEvent], live: Iterable[MessageEvent]) -> list[MessageEvent]:
    by_seq = {m.seq: m for m in stored}
    for message in live:
        by_seq.setdefault(message.seq, message)
    return [by_seq[seq] for seq in sorted(by_seq)]


def unfinished_replies(events: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Replies that started (or streamed) in ``events`` but never ended, with the text
    streamed so far: what a worker killed mid-reply leaves behind."""
    texts: dict[str, list[str]] = {}
    ended: set[str] = set()
    for event in events:
        kind, reply_id = event.get("type"), event.get("reply_id")
        if not isinstance(reply_id, str):
            continue
        if kind in ("reply.done", "reply.error"):
            ended.add(reply_id)
        elif kind == "reply.start":
            texts.setdefault(reply_id, [])
        elif kind == "reply.delta":
            texts.setdefault(reply_id, []).append(str(event.get("text", "")))
    return {rid: "".join(parts) for rid, parts in texts.items() if rid not in ended}


def turns(messages: Iterable[MessageEvent]) -> tuple[Turn, ...]:
    """The conversation as the LLM sees it: whispers are for the student, not the client."""
    out: list[Turn] = []
    for message in messages:
        if message.role is MessageRole.STUDENT:
            out.append(Turn("student", message.text))
        elif message.role is MessageRole.CLIENT and message.text:
            out.append(Turn("client", message.text))
    return tuple(out)


def persona_of(profile: ClientProfile, instructions: str) -> Persona:
    return Persona(
        name=profile.name,
        age=profile.age,
        pronouns=profile.pronouns,
        background=profile.background,
        presenting_problem=profile.presenting_problem,
        personality=profile.personality,
        communication_style=profile.communication_style,
        goals=profile.goals,
        hidden_facts=tuple(profile.hidden_facts),
        difficulty=profile.difficulty,
        opening_line=profile.opening_line,
        instructions=instructions,
    )


async def load_messages(
    db: Database, backend: RealtimeBackend, session_id: uuid.UUID
) -> list[MessageEvent]:
    """Every complete message so far, in seq order, wherever it currently lives."""
    live: list[MessageEvent] = []
    after = 0
    while True:
        events = await backend.read_durable(str(session_id), after, DURABLE_PAGE)
        for event in events:
            message = message_from_event(event)
            if message is not None:
                live.append(message)
        if len(events) < DURABLE_PAGE:
            break
        after = int(events[-1]["seq"])
    # SQL after the live log: the flusher commits to SQL before it trims the log, so
    # reading in this order cannot miss a message that moves between the two.
    async with db.session() as s:
        rows = await transcript_repo.list_messages(s, session_id)
    return merge((message_from_row(r) for r in rows), live)
