"""A worker's memo of the client state it published (realtime.clientmemo), without I/O:
it answers only for the event it was published with, and what it answers is what
resuming from that event gives the next turn."""

from __future__ import annotations

import uuid
from dataclasses import replace

from realtime.clientmemo import LiveClientStates
from realtime.clientstate import ClientState, apply_turn, note_reply, resume, start, to_event
from realtime.clientstate_facts import FactStatus
from realtime.events import ClientStateEvent
from skills import Role, Turn
from tests.realtime.unit.clientstate_support import FATHER, POLICE, TRANSCRIPT

FACTS = (FATHER, POLICE)
SESSION = uuid.uuid4()
# TRANSCRIPT's first five turns, then a reflection and a closed-question streak of three
# (the resume window holds the last 10 turns).
TALK = [
    *TRANSCRIPT[:5],
    Turn(6, Role.STUDENT, "You've been carrying your grief for your father on your own."),
    Turn(7, Role.CLIENT, "I suppose so. Nobody at work knows."),
    Turn(8, Role.STUDENT, "Do you drink every day?"),
    Turn(9, Role.CLIENT, "Most days."),
    Turn(10, Role.STUDENT, "Do you drive after?"),
    Turn(11, Role.CLIENT, "Sometimes."),
    Turn(12, Role.STUDENT, "Is that a worry for you?"),
    Turn(13, Role.CLIENT, "I don't know."),
]


def published(state: ClientState, after_seq: int) -> tuple[ClientStateEvent, LiveClientStates]:
    """A memo holding ``state`` as published following ``after_seq``, and its event."""
    memo = LiveClientStates()
    memo.remember(SESSION, after_seq, state)
    return to_event(state).model_copy(update={"after_seq": after_seq}), memo


def test_each_turn_starts_from_what_resuming_its_event_would_give() -> None:
    """Live along TALK, publishing each turn's state and each disclosure: before every
    student turn, the memo's state scores it as resuming the latest event does."""
    memo, live = LiveClientStates(), start(FACTS, difficulty=2)
    latest: ClientStateEvent | None = None
    client: str | None = None
    compared = 0
    for index, turn in enumerate(TALK):
        if turn.role is Role.CLIENT:
            client = turn.text
            live, change = note_reply(live, turn.text, seq=turn.seq)
            if change is not None:
                latest = to_event(live, change)
                memo.remember(SESSION, turn.seq, live)
            continue
        held = memo.recall(SESSION, latest, FACTS, 2)
        if latest is not None:
            before = [t for t in TALK[:index] if t.seq <= latest.after_seq]
            resumed = resume(latest, FACTS, difficulty=2, recent=before[-10:])
            assert held is not None  # the live state, but for a reply that told nothing
            assert replace(held, last_seq=live.last_seq) == live
            for state in (held, resumed):
                _, change = apply_turn(state, turn.text, client, seq=turn.seq)
                assert change == apply_turn(live, turn.text, client, seq=turn.seq)[1]
            assert (held.trust, held.closed_streak, held.recent_stems) == (
                resumed.trust,
                resumed.closed_streak,
                resumed.recent_stems,
            )
            compared += 1
        live, change = apply_turn(live, turn.text, client, seq=turn.seq)
        latest = to_event(live, change)
        memo.remember(SESSION, turn.seq, live)
    assert compared == 5
    assert live.facts[0].status is FactStatus.DISCLOSED and live.closed_streak == 3


def test_it_answers_only_for_the_event_it_was_published_with() -> None:
    state = replace(start(FACTS, difficulty=3), trust=55)
    state = replace(state, facts=(state.facts[0].unlock(4), state.facts[1]))
    event, memo = published(state, 4)
    assert memo.recall(SESSION, event, FACTS, 3) is state
    misses = {
        "no event yet": (None, FACTS, 3),
        "a later event (another worker's say)": (
            event.model_copy(update={"after_seq": 6}),
            FACTS,
            3,
        ),
        "other trust": (event.model_copy(update={"trust": 56}), FACTS, 3),
        "another fact state": (
            event.model_copy(
                update={"facts": (event.facts[0].model_copy(update={"state": "locked"}),)}
            ),
            FACTS,
            3,
        ),
        "a fact the teacher edited": (
            event,
            (replace(FATHER, fact="Their father died last spring"), POLICE),
            3,
        ),
        "a fact added": (event, (*FACTS, FATHER), 3),
        "another difficulty": (event, FACTS, 4),
        "a fact stored as told": (event, (replace(FATHER, disclosed=True), POLICE), 3),
    }
    for why, (seen, facts, difficulty) in misses.items():
        assert memo.recall(SESSION, seen, facts, difficulty) is None, why
    assert memo.recall(uuid.uuid4(), event, FACTS, 3) is None
    memo.forget(SESSION)
    assert memo.recall(SESSION, event, FACTS, 3) is None


def test_an_older_state_remembered_late_does_not_replace_a_newer_one() -> None:
    turn = start(FACTS, difficulty=3)
    told = replace(turn, trust=60)
    event, memo = published(told, 9)  # the reply's disclosure, remembered first
    memo.remember(SESSION, 8, turn)  # then its turn's state, logged before it
    assert memo.recall(SESSION, event, FACTS, 3) is told


def test_it_keeps_the_most_recently_used_sessions() -> None:
    memo, state = LiveClientStates(max_sessions=2), start(FACTS, difficulty=3)
    event = to_event(state).model_copy(update={"after_seq": 1})
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    memo.remember(first, 1, state)
    memo.remember(second, 1, state)
    assert memo.recall(first, event, FACTS, 3) is state  # used: second is now the oldest
    memo.remember(third, 1, state)
    assert memo.recall(second, event, FACTS, 3) is None
    assert memo.recall(first, event, FACTS, 3) is memo.recall(third, event, FACTS, 3) is state
