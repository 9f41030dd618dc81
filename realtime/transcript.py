"""A session's complete messages: SQL (flushed) plus the durable live log (not yet
flushed), merged by seq. Pure conversion functions plus one loader."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from llm.base import STYLES, ConversationStyle, HiddenFact, Persona, Turn
from realtime.backends import RealtimeBackend
from realtime.events import MessageEvent, ReplyDone, ReplyError, SequencedEvent
from realtime.vocabulary import MessageRole
from storage.db import Database
from storage.models import ClientProfile, Message, StoredFact
from storage.repos import transcripts as transcript_repo

# Durable events read per round trip while loading a transcript.
DURABLE_PAGE = 1_000


def message_from_event(event: SequencedEvent) -> MessageEvent | None:
    """The complete message a durable log event stands for, if any: a ``message`` itself,
    a reply's end as the client's message (``failed`` when partial text was kept)."""
    match event:
        case MessageEvent():
            return event
        case ReplyDone():
            return _client_message(event, event.message_id, stopped=event.stopped)
        case ReplyError(message_id=str(message_id)):
            return _client_message(event, message_id, failed=True)
        case _:
            return None


def _client_message(
    end: ReplyDone | ReplyError, message_id: str, *, stopped: bool = False, failed: bool = False
) -> MessageEvent:
    return MessageEvent(
        seq=end.seq,
        message_id=message_id,
        role=MessageRole.CLIENT,
        text=end.text,
        reply_id=end.reply_id,
        stopped=stopped,
        failed=failed,
    )


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


def turns(messages: Iterable[MessageEvent]) -> tuple[Turn, ...]:
    """The conversation as the LLM sees it: whispers are for the student, not the client."""
    out: list[Turn] = []
    for message in messages:
        if message.role is MessageRole.STUDENT:
            out.append(Turn("student", message.text))
        elif message.role is MessageRole.CLIENT and message.text:
            out.append(Turn("client", message.text))
    return tuple(out)


def hidden_facts_of(stored: Iterable[StoredFact]) -> tuple[HiddenFact, ...]:
    """A profile's hidden facts as the LLM layer takes them, all of them in the teacher's
    order, none disclosed yet (the live session keeps count and unlocks them)."""
    return tuple(
        HiddenFact(
            fact=item["fact"],
            disclosure=item["disclosure"],
            topics=tuple(item["topics"]),
            trust_needed=item["trust_needed"],
        )
        for item in stored
    )


def _style_of(stored: str) -> ConversationStyle:
    """A stored style as the LLM layer takes it; the API only stores known ones, and
    anything else reads as "plain" rather than failing a live session."""
    for style in STYLES:
        if style == stored:
            return style
    return "plain"


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
        hidden_facts=hidden_facts_of(profile.hidden_facts),
        difficulty=profile.difficulty,
        opening_line=profile.opening_line,
        instructions=instructions,
        style=_style_of(profile.style),
        avoid=tuple(profile.avoid),
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
        after = events[-1].seq
    # SQL after the live log: the flusher commits to SQL before it trims the log, so
    # reading in this order cannot miss a message that moves between the two.
    rows = await db.read(lambda s: transcript_repo.list_messages(s, session_id))
    return merge((message_from_row(r) for r in rows), live)
