"""Unit tests of the coder's decisions: context, turn rule, flags, determinism."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest

from skills import (
    Behaviour,
    Flag,
    InputKind,
    QuestionKind,
    ReflectionKind,
    Role,
    Turn,
    code_transcript,
    code_turn,
)

B, Q, R = Behaviour, QuestionKind, ReflectionKind


def test_the_same_sentence_is_a_reflection_only_after_the_client_said_it() -> None:
    sentence = "You've been drinking more since the divorce."
    restated = code_turn(sentence, "Since the divorce I've been drinking a lot more.")
    alone = code_turn(sentence, None)
    assert restated.behaviour is B.REFLECTION
    assert restated.reflection is R.SIMPLE
    assert alone.behaviour is B.OTHER
    assert alone.reflection is None


def test_an_answer_to_the_clients_question_is_information_not_a_reflection() -> None:
    sentence = "Drinking every night can affect your sleep."
    assert code_turn(sentence, "I've been drinking every night.").behaviour is B.INPUT
    answered = code_turn(sentence, "Is drinking every night bad for my sleep?")
    assert (answered.behaviour, answered.input) == (B.INPUT, InputKind.INFORMATION)


@pytest.mark.parametrize(
    ("client", "student", "kind"),
    [
        ("I want to stop.", "You want to stop.", R.SIMPLE),
        ("I sit at home all day.", "You're lonely.", R.COMPLEX),
        (
            "Drinking helps me relax.",
            "Part of you wants to stop and part of you doesn't.",
            R.COMPLEX,
        ),
        ("I work late every night.", "It's like you're running on empty.", R.COMPLEX),
        ("I went even though I was scared.", "You went even though it scared you.", R.COMPLEX),
    ],
)
def test_a_reflection_is_complex_when_it_adds_meaning(
    client: str, student: str, kind: ReflectionKind
) -> None:
    code = code_turn(student, client)
    assert (code.behaviour, code.reflection) == (B.REFLECTION, kind)


@pytest.mark.parametrize(
    ("student", "kind"),
    [
        ("Can you tell me more about that?", Q.OPEN),
        ("What do you think?", Q.OPEN),
        ("how are you feeling today", Q.OPEN),
        ("Tell me about your week.", Q.OPEN),
        ("I'm curious what that was like.", Q.OPEN),
        ("isolating how", Q.OPEN),
        ("Is it that you're tired or that you're bored?", Q.CLOSED),
        ("You said you moved out?", Q.CLOSED),
        ("do you still play", Q.CLOSED),
        ("That was last week, wasn't it?", Q.CLOSED),
        ("How many drinks did you have?", Q.CLOSED),
        ("How worried are you, on a scale of 1 to 10?", Q.CLOSED),
        ("Would it be OK if I shared some information?", Q.CLOSED),
        ("ok that makes sense so what would you want to do next", Q.OPEN),
    ],
)
def test_question_form(student: str, kind: QuestionKind) -> None:
    code = code_turn(student, "I moved out last week and I've been isolating.")
    assert (code.behaviour, code.question) == (B.QUESTION, kind)


def test_a_statement_with_rising_intonation_is_still_a_reflection() -> None:
    code = code_turn("You're feeling anxious at work?", "I've been anxious at work.")
    assert (code.behaviour, code.question, code.reflection) == (B.REFLECTION, None, R.SIMPLE)


def test_i_wonder_guesses_are_reflections_and_i_wonder_wh_is_a_question() -> None:
    guess = code_turn("I wonder if you're feeling hopeless.", "I don't see the point.")
    asked = code_turn("I wonder what keeps you going back.", "I keep going back to him.")
    assert (guess.behaviour, guess.reflection) == (B.REFLECTION, R.COMPLEX)
    assert (asked.behaviour, asked.question) == (B.QUESTION, Q.OPEN)


def test_the_turn_takes_its_last_utterance_and_keeps_the_others() -> None:
    client = "I'm stressed about money and my landlord keeps calling."
    reflect_then_ask = code_turn("Money's weighing on you. What's the hardest part?", client)
    ask_then_reflect = code_turn("What's the hardest part? Money's weighing on you.", client)
    assert reflect_then_ask.behaviour is B.QUESTION
    assert ask_then_reflect.behaviour is B.REFLECTION
    for code in (reflect_then_ask, ask_then_reflect):
        assert code.question is Q.OPEN
        assert code.reflection is not None
        assert [u.behaviour for u in code.utterances].count(B.QUESTION) == 1


def test_greetings_after_the_main_utterance_do_not_take_the_turn() -> None:
    code = code_turn("How did it go? Thanks for telling me.", "I went to the meeting.")
    assert code.behaviour is B.QUESTION
    assert code_turn("Hi, I'm Sam. Nice to meet you.", None).behaviour is B.OTHER


def test_stacked_questions_count_once_and_keep_the_last_kind() -> None:
    code = code_turn("What happened? Did he hit you?", "We had a fight.")
    assert len(code.utterances) == 1
    assert code.question is Q.CLOSED


@pytest.mark.parametrize("student", ["mm-hm", "Okay.", "Mm-hm, I see.", "Right.", "Really?"])
def test_facilitation_is_other(student: str) -> None:
    code = code_turn(student, "And then he left.")
    assert (code.behaviour, code.question, code.reflection) == (B.OTHER, None, None)


def test_advice_needs_permission_to_count_as_invited() -> None:
    advice = "You could try a nicotine patch in the morning."
    uninvited = code_turn(advice, "I smoke as soon as I wake up.")
    granted = code_turn(advice, "Sure, go ahead.")
    assert code_turn(advice, "Yeah. My wife hates it.").advice_without_permission
    autonomy = code_turn(advice + " It's up to you, though.", "I smoke as soon as I wake up.")
    assert uninvited.input is InputKind.ADVICE_WITHOUT_PERMISSION
    assert uninvited.advice_without_permission
    for code in (granted, autonomy):
        assert code.input is InputKind.ADVICE_WITH_PERMISSION
        assert not code.advice_without_permission


@pytest.mark.parametrize(
    ("client", "granted"),
    [
        ("Sure, go ahead.", True),  # nothing but agreement
        ("Yes. Yes, please.", True),
        ("What should I do about it?", True),  # a phrase anywhere in the turn
        ("I smoke as soon as I wake up and honestly, what would you suggest?", True),
        ("Sure, I smoke as soon as I wake up.", False),  # agreement, then more: not only that
        ("I smoke as soon as I wake up, okay.", False),  # agreement ending a turn: not alone
        ("I smoke as soon as I wake up.", False),
    ],
)
def test_permission_is_agreement_alone_or_a_request_anywhere(client: str, granted: bool) -> None:
    advice = "You could try a nicotine patch in the morning."
    assert code_turn(advice, client).advice_without_permission is not granted


def test_options_and_information_are_input() -> None:
    options = code_turn(
        "Some people set a limit, others alternate with water.", "I want to cut down."
    )
    information = code_turn("The guidelines say fourteen units a week.", "How much is too much?")
    assert (options.behaviour, options.input) == (B.INPUT, InputKind.OPTIONS)
    assert (information.behaviour, information.input) == (B.INPUT, InputKind.INFORMATION)


def test_affirmations_are_other_unless_they_also_reflect() -> None:
    plain = code_turn("That took a lot of courage.", "I went to my first meeting.")
    reflective = code_turn("You've worked really hard on this.", "I've been working on it.")
    assert (plain.behaviour, plain.affirmation) == (B.OTHER, True)
    assert (reflective.behaviour, reflective.affirmation) == (B.REFLECTION, True)


def test_a_summary_is_a_complex_reflection() -> None:
    code = code_turn(
        "So far you've told me your car broke down, your mum's ill and you've felt low.",
        "That's why I missed the appointments.",
    )
    assert (code.behaviour, code.reflection, code.summary) == (B.REFLECTION, R.COMPLEX, True)


@pytest.mark.parametrize(
    ("student", "flag"),
    [
        ("That must be really frustrating.", Flag.EMPATHY),
        ("I'm so sorry.", Flag.EMPATHY),
        ("You should have set an alarm.", Flag.JUDGEMENT),
        ("You're clearly in denial.", Flag.JUDGEMENT),
        ("What haven't you told anyone?", Flag.ASKS_ABOUT_SECRETS),
        ("Tell me your secret.", Flag.ASKS_ABOUT_SECRETS),
        ("You need to stop drinking.", Flag.ADVICE_WITHOUT_PERMISSION),
    ],
)
def test_flags(student: str, flag: Flag) -> None:
    assert flag in code_turn(student, "I forgot again and I feel awful.").flags


def test_a_reflection_of_what_the_client_keeps_back_is_not_a_probe() -> None:
    code = code_turn("You haven't told anyone about the debt.", "Nobody knows about the debt.")
    assert code.behaviour is B.REFLECTION
    assert not code.asks_about_secrets


def test_judgement_removes_empathy() -> None:
    code = code_turn("You're just making excuses, and you feel sorry for yourself.", "I'm tired.")
    assert code.judgement and not code.empathy


def test_code_transcript_uses_the_client_text_since_the_student_last_spoke() -> None:
    turns = [
        Turn(0, Role.STUDENT, "Hi, welcome."),
        Turn(1, Role.CLIENT, "Hi."),
        Turn(2, Role.CLIENT, "My mum and I keep fighting."),
        Turn(3, Role.STUDENT, "You and your mum keep fighting."),
        Turn(4, Role.STUDENT, "What are the fights about?"),
    ]
    coded = code_transcript(turns)
    assert [c.seq for c in coded] == [0, 3, 4]
    assert [c.code.behaviour for c in coded] == [B.OTHER, B.REFLECTION, B.QUESTION]


def test_coding_is_deterministic() -> None:
    turns = [
        Turn(i, Role.CLIENT if i % 2 else Role.STUDENT, text)
        for i, text in enumerate(
            ["Hello.", "Hi.", "What brings you in?", "My drinking.", "You're worried about it."]
        )
    ]
    first = code_transcript(turns)
    assert all(code_transcript(turns) == first for _ in range(3))


def test_empty_and_blank_turns_are_other() -> None:
    for text in ("", "   ", "..."):
        code = code_turn(text, "Hi.")
        assert (code.behaviour, code.utterances) == (B.OTHER, ())


def test_a_thousand_turns_code_quickly() -> None:
    lines = [
        "I've been drinking more since I lost my job, and my wife is furious.",
        "It sounds like things have been piling up. What worries you most?",
        "Mostly money. And the kids.",
        "Would it be OK if I shared a few things that have helped other people?",
    ]
    turns = [
        Turn(i, Role.CLIENT if i % 2 == 0 else Role.STUDENT, lines[i % 4]) for i in range(1000)
    ]
    started = time.perf_counter()
    coded = code_transcript(turns)
    elapsed = time.perf_counter() - started
    print(f"\ncoded {len(coded)} student turns of 1,000 in {elapsed * 1000:.0f} ms")
    assert len(coded) == 500


def test_skills_imports_no_upper_floor() -> None:
    """skills sits at the bottom: it must not import server, realtime, llm or storage."""
    forbidden = {"server", "realtime", "llm", "storage"}
    package = Path(__file__).resolve().parents[2] / "skills"
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not {name.split(".")[0] for name in names} & forbidden, path
