"""Where the live session meets the client state (pure): the state a turn starts from,
the persona a reply is asked for, and what a finished reply did (persona checks and
disclosures). The rules themselves live in :mod:`realtime.clientstate` and
:mod:`llm.integrity`; this module only feeds them from the session's log and transcript.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from llm.base import HiddenFact, Persona
from llm.integrity import Integrity, check_reply
from llm.persona import build_system_prompt
from realtime.clientstate import (
    ClientState,
    TrustChange,
    apply_turn,
    locked_facts,
    note_reply,
    replay,
    reply_stems,
    resume,
    start,
    to_event,
    unlocked_facts,
)
from realtime.events import ClientStateEvent, FlagView, MessageEvent, ReplyFlagged
from realtime.sessionview import SessionView
from realtime.vocabulary import MessageRole
from skills import Role, Turn, client_side

__all__ = [
    "REPLY_MAX_CHARS_PER_TOKEN",
    "TurnState",
    "after_reply",
    "check_integrity",
    "client_turns",
    "disclosures",
    "flagged_event",
    "state_before_turn",
    "turn_state",
]

#: A reply's text is "runaway" past this many characters per token of its max_tokens:
#: English runs ~4 chars a token, so 8 is twice what the budget allows.
REPLY_MAX_CHARS_PER_TOKEN = 8
#: Transcript turns that restore the closed-question streak and the topic window when a
#: worker resumes from the last ``client.state`` (the topic window is 3 exchanges).
RESUME_TURNS = 10


def client_turns(messages: Sequence[MessageEvent]) -> list[Turn]:
    """The transcript as the skill coder reads it: student and client turns with text
    (whispers and empty failed replies left out)."""
    roles = {MessageRole.STUDENT: Role.STUDENT, MessageRole.CLIENT: Role.CLIENT}
    return [
        Turn(message.seq, roles[message.role], message.text)
        for message in messages
        if message.role in roles and message.text.strip()
    ]


def state_before_turn(
    view: SessionView, facts: Sequence[HiddenFact], difficulty: int, turns: Sequence[Turn]
) -> ClientState:
    """The client state the next student turn starts from: the latest ``client.state``
    in the log (resumed with the turns up to it), else the whole transcript replayed,
    else the start."""
    event = view.client_state
    if event is not None:
        before = [turn for turn in turns if turn.seq <= event.after_seq]
        return resume(event, facts, difficulty=difficulty, recent=before[-RESUME_TURNS:])
    if turns:
        return replay(facts, difficulty=difficulty, turns=turns)
    return start(facts, difficulty=difficulty)


@dataclass(frozen=True, slots=True)
class TurnState:
    """The client state after a student turn, the persona to ask the reply for, and the
    ``client.state`` event to publish (its ``after_seq`` set once the message has one)."""

    state: ClientState
    change: TrustChange
    persona: Persona

    def event(self, message_seq: int) -> ClientStateEvent:
        return to_event(self.state, self.change).model_copy(update={"after_seq": message_seq})


def turn_state(
    persona: Persona,
    view: SessionView,
    turns: Sequence[Turn],
    text: str,
    *,
    seq: int,
    before: ClientState | None = None,
) -> TurnState:
    """Score the student's ``text`` (at provisional ``seq``, above everything in ``turns``)
    and build the persona for the reply: only unlocked facts, and the teacher's latest
    directions from the log. ``before``: the state the view's latest ``client.state``
    describes, when the caller holds it (:mod:`realtime.clientmemo`); else it is resumed
    from the view and ``turns``."""
    state = (
        before
        if before is not None
        else state_before_turn(view, persona.hidden_facts, persona.difficulty, turns)
    )
    client_words = _client_words_before(turns)
    state, change = apply_turn(state, text, client_words, seq=seq)
    asked = dataclasses.replace(
        persona, hidden_facts=unlocked_facts(state), directions=view.directions
    )
    return TurnState(state, change, asked)


def _client_words_before(turns: Sequence[Turn]) -> str | None:
    """The client's words since the student last spoke (what the new turn answers)."""
    words: list[str] = []
    for turn in reversed(turns):
        if turn.role is Role.STUDENT:
            break
        words.append(turn.text)
    return " ".join(reversed(words)) or None


def check_integrity(
    state: ClientState, persona: Persona, text: str, *, max_tokens: int, wind_down: bool
) -> Integrity:
    """The persona checks on a finished reply asked for with ``persona``."""
    return check_reply(
        text,
        persona,
        locked_facts=locked_facts(state),
        system_prompt=build_system_prompt(persona, wind_down=wind_down),
        max_chars=max_tokens * REPLY_MAX_CHARS_PER_TOKEN,
    )


def flagged_event(
    integrity: Integrity, reply_id: str, *, withdrawn_text: str | None = None
) -> ReplyFlagged | None:
    """``reply.flagged`` for observers, or None for a clean reply; ``withdrawn_text`` when
    the reply is withdrawn and asked for once more."""
    if integrity.ok:
        return None
    flags = tuple(FlagView(flag=f.flag.value, reason=f.reason) for f in integrity.findings)
    if withdrawn_text is None:
        return ReplyFlagged(reply_id=reply_id, flags=flags)
    return ReplyFlagged(reply_id=reply_id, flags=flags, action="regenerated", text=withdrawn_text)


def disclosures(
    state: ClientState, text: str, *, seq: int
) -> tuple[ClientState, ClientStateEvent | None]:
    """The state after a reply (at ``seq``) and, if it disclosed a fact, the event."""
    after, change = note_reply(state, text, seq=seq)
    return after, None if change is None else to_event(after, change).model_copy(
        update={"after_seq": seq}
    )


def after_reply(text: str) -> None:
    """Read a finished reply now the way the student's next turn will (the coder's view
    of it, its stems for the topic window), both memoised: the say that answers it finds
    them made instead of making them on its way to the model."""
    client_side(text)
    reply_stems(text)
