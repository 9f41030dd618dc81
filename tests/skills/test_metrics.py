"""Session metrics: counts with the seqs they drew on, shares, ratios and thresholds."""

from __future__ import annotations

import json

import pytest

from skills import (
    COMPLEX_REFLECTION_SHARE,
    OPEN_QUESTION_SHARE,
    REFLECTION_TO_QUESTION,
    Level,
    Role,
    Threshold,
    Turn,
    session_metrics,
    word_count,
)

S, C = Role.STUDENT, Role.CLIENT

SESSION = [
    Turn(10, S, "Hi, thanks for coming in."),
    Turn(11, C, "I've been drinking every night since I lost my job."),
    Turn(12, S, "You've been drinking every night since losing your job. How has that been?"),
    Turn(13, C, "Honestly it's the only thing that helps me relax."),
    Turn(14, S, "Part of you knows it isn't helping, and part of you needs it to unwind."),
    Turn(15, C, "Yeah. My wife hates it."),
    Turn(16, S, "Do you drink at home?"),
    Turn(17, S, "You should stop buying it."),
    Turn(18, C, "Maybe."),
]


def test_counts_list_the_turns_they_counted() -> None:
    metrics = session_metrics(SESSION)
    assert (metrics.questions.value, metrics.questions.seqs) == (2, (12, 16))
    assert (metrics.open_questions.value, metrics.open_questions.seqs) == (1, (12,))
    assert (metrics.closed_questions.value, metrics.closed_questions.seqs) == (1, (16,))
    assert (metrics.reflections.value, metrics.reflections.seqs) == (2, (12, 14))
    assert (metrics.simple_reflections.value, metrics.simple_reflections.seqs) == (1, (12,))
    assert (metrics.complex_reflections.value, metrics.complex_reflections.seqs) == (1, (14,))
    assert metrics.advice_without_permission.value == 1
    assert metrics.advice_without_permission.seqs == (17,)
    assert (metrics.affirmations.value, metrics.summaries.value) == (0, 0)


def test_shares_and_ratios_carry_their_threshold_and_level() -> None:
    metrics = session_metrics(SESSION)
    share = metrics.open_question_share
    assert (share.value, share.threshold, share.level) == (0.5, OPEN_QUESTION_SHARE, Level.FAIR)
    assert share.seqs == (12, 16)
    complex_share = metrics.complex_reflection_share
    assert (complex_share.value, complex_share.level) == (0.5, Level.GOOD)
    assert complex_share.threshold == COMPLEX_REFLECTION_SHARE
    ratio = metrics.reflection_to_question
    assert (ratio.value, ratio.level) == (1.0, Level.FAIR)
    assert ratio.threshold == REFLECTION_TO_QUESTION
    assert ratio.seqs == (12, 14, 16)


def test_talk_share_and_the_longest_monologue() -> None:
    metrics = session_metrics(SESSION)
    student = [t for t in SESSION if t.role is S]
    student_words = sum(word_count(t.text) for t in student)
    all_words = sum(word_count(t.text) for t in SESSION)
    assert metrics.student_talk_share.value == pytest.approx(student_words / all_words)
    assert metrics.student_talk_share.seqs == (10, 12, 14, 16, 17)
    longest = metrics.longest_monologue
    assert longest.seqs == (14,)
    assert longest.value == word_count(SESSION[4].text)


def test_consecutive_student_turns_make_one_monologue() -> None:
    turns = [
        Turn(0, C, "Hi."),
        Turn(1, S, "one two three four five six"),
        Turn(2, C, "Okay."),
        Turn(3, S, "one two three"),
        Turn(4, S, "four five six seven"),
        Turn(5, C, "Right."),
    ]
    longest = session_metrics(turns).longest_monologue
    assert (longest.value, longest.seqs) == (7, (3, 4))


def test_a_reflection_and_a_question_in_one_turn_count_once_each() -> None:
    turns = [
        Turn(0, C, "I'm worried about losing my flat."),
        Turn(1, S, "You're worried about losing your flat. What would help? Who could you ask?"),
    ]
    metrics = session_metrics(turns)
    assert (metrics.reflections.value, metrics.questions.value) == (1, 1)
    assert metrics.reflection_to_question.value == 1.0


def test_empty_denominators_have_no_value_and_no_level() -> None:
    metrics = session_metrics([Turn(0, S, "Hello."), Turn(1, C, "Hi.")])
    for metric in (
        metrics.open_question_share,
        metrics.complex_reflection_share,
        metrics.reflection_to_question,
    ):
        assert (metric.value, metric.level) == (None, None)
    empty = session_metrics([])
    assert empty.student_talk_share.value is None
    assert (empty.longest_monologue.value, empty.longest_monologue.seqs) == (0, ())


@pytest.mark.parametrize(
    ("value", "level"),
    [
        (0.0, Level.BELOW),
        (0.99, Level.BELOW),
        (1.0, Level.FAIR),
        (1.99, Level.FAIR),
        (2.0, Level.GOOD),
        (5.0, Level.GOOD),
    ],
)
def test_threshold_levels(value: float, level: Level) -> None:
    assert REFLECTION_TO_QUESTION.level(value) is level


def test_the_usual_fidelity_thresholds() -> None:
    assert Threshold(fair=1.0, good=2.0) == REFLECTION_TO_QUESTION
    assert Threshold(fair=0.40, good=0.50) == COMPLEX_REFLECTION_SHARE
    assert Threshold(fair=0.50, good=0.70) == OPEN_QUESTION_SHARE


def test_as_dict_is_json_ready() -> None:
    data = session_metrics(SESSION).as_dict()
    assert data["open_question_share"] == {
        "value": 0.5,
        "seqs": [12, 16],
        "threshold": {"fair": 0.5, "good": 0.7},
        "level": "fair",
    }
    assert json.loads(json.dumps(data)) == data
