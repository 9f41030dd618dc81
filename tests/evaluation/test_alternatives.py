"""Alternatives for the weakest student turns, from templates."""

from __future__ import annotations

import pytest

from evaluation import (
    Alternative,
    Turn,
    Weakness,
    open_question,
    permission_first,
    reflection_of,
    suggest_alternatives,
    weakest_turns,
)
from skills import Behaviour, QuestionKind, Role, code_transcript, code_turn
from tests.evaluation.examples import GRIEF

S, C = Role.STUDENT, Role.CLIENT


@pytest.mark.parametrize(
    ("closed", "reworded"),
    [
        ("Do you feel sad?", "How have you been feeling?"),
        ("Do you feel sad about your dad?", "How have you been feeling about your dad?"),
        ("Are you worried about money?", "How have you been feeling about money?"),
        ("Is your father still around?", "What can you tell me about your father?"),
        ("Okay, so did you go to the funeral?", "What can you tell me about the funeral?"),
        ("Do you drink at home?", "What is it like for you when you drink at home?"),
        ("Is it hard?", "How has that been for you?"),
        ("Have you tried talking to someone about it?", "What have you tried so far?"),
        ("Are you drinking more?", "What can you tell me about drinking?"),
        ("Is that right?", "What would you like me to understand about that?"),
    ],
)
def test_a_closed_question_becomes_an_open_one_on_the_same_topic(
    closed: str, reworded: str
) -> None:
    assert open_question(closed) == reworded
    code = code_turn(reworded, "Things have been rough.")
    assert (code.behaviour, code.question) == (Behaviour.QUESTION, QuestionKind.OPEN)


@pytest.mark.parametrize(
    ("client", "reflection"),
    [
        (
            "My dad died in March and I was so angry at everyone.",
            "It sounds like your dad died in March and you were so angry at everyone.",
        ),
        ("The funeral was awful.", "It sounds like the funeral was awful."),
        ("Sarah left me.", "It sounds like Sarah left you."),
        (
            "No. I said I'm fine.",
            "It sounds like you're fine, and at the same time some of this is still hard.",
        ),
        (
            "I\u2019m not sleeping. I feel so alone. Anyway, what about you?",
            "It sounds like you feel so alone.",
        ),
        ("What do you want?", "It sounds like there is a lot going on for you right now."),
    ],
)
def test_a_reflection_gives_the_clients_turn_back_in_the_second_person(
    client: str, reflection: str
) -> None:
    assert reflection_of(client) == reflection


@pytest.mark.parametrize(
    ("advice", "idea"),
    [
        ("You should stop buying it.", "stop buying it"),
        ("Why don't you call your sister?", "call your sister"),
        ("I would suggest that you join a group.", "join a group"),
        ("If I were you, I would quit tomorrow.", "quit tomorrow"),
        ("It might help to write it down.", "write it down"),
        ("Just try to relax.", "try to relax"),
    ],
)
def test_advice_becomes_asking_permission_and_keeps_the_idea(advice: str, idea: str) -> None:
    assert permission_first(advice) == (
        f"Would it be all right if I shared an idea? One option could be to {idea}. "
        "What do you make of that?"
    )


def test_advice_without_an_idea_to_keep_still_asks_first() -> None:
    assert permission_first("Have a think about it.").startswith(
        "Would it be all right if I shared an idea"
    )


def test_the_weakest_turns_rank_streaks_then_advice_then_judgement_then_closed() -> None:
    turns = (
        Turn(1, C, "I've been drinking a lot."),
        Turn(2, S, "Do you drink every day?"),
        Turn(3, C, "Most days."),
        Turn(4, S, "That's irresponsible."),
        Turn(5, C, "Wow."),
        Turn(6, S, "You should cut down."),
        Turn(7, C, "Maybe."),
        Turn(8, S, "Is it beer?"),
        Turn(9, C, "Wine."),
        Turn(10, S, "Do you drink alone?"),
        Turn(11, C, "Yes."),
    )
    ranked = weakest_turns(code_transcript(turns), 5)
    assert ranked == [
        (10, Weakness.CLOSED_STREAK),
        (6, Weakness.ADVICE),
        (4, Weakness.JUDGEMENT),
        (2, Weakness.CLOSED),
        (8, Weakness.CLOSED),
    ]


def test_the_grief_session_gets_three_alternatives_in_transcript_order() -> None:
    alternatives = suggest_alternatives(GRIEF, code_transcript(GRIEF))
    assert [a.seq for a in alternatives] == [6, 8, 10]
    streak, streak_again, advice = alternatives
    assert streak == Alternative(
        6,
        "It sounds like you're fine, and at the same time some of this is still hard.",
        streak.why,
    )
    assert "Closed questions one after another" in streak.why
    assert streak_again.text == "It sounds like you keep waking up at three."
    assert advice.text.startswith("Would it be all right if I shared an idea?")
    assert "talk to your sister about it" in advice.text
    student = {t.seq for t in GRIEF if t.role is S}
    assert {a.seq for a in alternatives} <= student


def test_a_first_closed_question_without_a_client_turn_before_is_reworded() -> None:
    turns = (Turn(1, S, "Do you feel sad?"), Turn(2, S, "Are you sad?"))
    alternatives = suggest_alternatives(turns, code_transcript(turns))
    assert [a.text for a in alternatives] == [
        "How have you been feeling?",
        "How have you been feeling?",
    ]


def test_a_good_interview_needs_no_alternatives() -> None:
    turns = (
        Turn(1, C, "I've been drinking every night."),
        Turn(2, S, "What has that been like for you?"),
    )
    assert suggest_alternatives(turns, code_transcript(turns)) == ()
