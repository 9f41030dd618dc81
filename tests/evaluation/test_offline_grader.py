"""The automatic grader: criterion -> metric family -> level -> score, with evidence."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation import (
    Criterion,
    Family,
    RubricLevel,
    Turn,
    evaluate_offline,
    fact_coverage,
    family_of,
    grade_offline,
    quote_in,
    score_for,
)
from evaluation.results import QUOTE_CHARS
from skills import Level, Role, code_transcript, session_metrics
from tests.evaluation.examples import GRIEF, GRIEF_FACTS, RUBRIC

S, C = Role.STUDENT, Role.CLIENT


def criterion(name: str, description: str = "", scores: tuple[int, ...] = (1, 2, 3)) -> Criterion:
    return Criterion(name, description, tuple(RubricLevel(s, f"level {s}") for s in scores))


@pytest.mark.parametrize(
    ("name", "description", "family"),
    [
        ("Empathy", "", Family.EMPATHY),
        ("Reflective listening and open questions", "", Family.EMPATHY),
        ("Open questions and reflections", "", Family.QUESTIONS),
        ("Use of closed questions", "", Family.QUESTIONS),
        ("Exploring the client's story", "", Family.EXPLORATION),
        ("Disclosure", "", Family.EXPLORATION),
        ("Summarising", "", Family.STRUCTURE),
        ("Session structure", "", Family.STRUCTURE),
        ("No unsolicited advice", "", Family.AUTONOMY),
        ("Respecting autonomy", "", Family.AUTONOMY),
        ("Professionalism", "", Family.OVERALL),
        ("Criterion A", "Rapport with the client", Family.EMPATHY),
        ("Criterion B", "Asks permission before advising", Family.AUTONOMY),
        ("Criterion C", "Open and closed questions", Family.QUESTIONS),
    ],
)
def test_a_criterion_is_matched_to_a_family_by_its_words(
    name: str, description: str, family: Family
) -> None:
    assert family_of(criterion(name, description)) is family


@pytest.mark.parametrize(
    ("scores", "below", "fair", "good"),
    [
        ((1, 2, 3), 1, 2, 3),
        ((0, 2, 4), 0, 2, 4),
        ((1, 2, 3, 4), 1, 2, 4),
        ((1, 2, 3, 4, 5), 1, 3, 5),
        ((0, 1), 0, 0, 1),
        ((7,), 7, 7, 7),
    ],
)
def test_levels_map_to_the_low_middle_and_high_score(
    scores: tuple[int, ...], below: int, fair: int, good: int
) -> None:
    c = criterion("X", scores=scores)
    assert (score_for(c, Level.BELOW), score_for(c, Level.FAIR), score_for(c, Level.GOOD)) == (
        below,
        fair,
        good,
    )


def grade(turns: tuple[Turn, ...] = GRIEF) -> dict[str, tuple[int, str, list[int]]]:
    evaluation = evaluate_offline(turns, GRIEF_FACTS, RUBRIC)
    return {
        r.name: (r.automatic_score, r.rationale, [e.seq for e in r.evidence])
        for r in evaluation.criteria
    }


def test_the_grief_session_is_graded_with_figures_and_says_it_is_automatic() -> None:
    graded = grade()
    assert list(graded) == [c.name for c in RUBRIC]
    for _, rationale, _ in graded.values():
        assert rationale.startswith("Automatic rating from the skill coder")
    score, rationale, seqs = graded["Empathy"]
    assert score == 1
    assert "1 reflection for 4 questions (ratio 0.2; fair from 1.0, good from 2.0)" in rationale
    assert seqs == [4, 6, 12]  # two closed questions, then the one (complex) reflection
    score, rationale, seqs = graded["Open questions"]
    assert (score, seqs) == (1, [4, 6, 2])
    assert "1 of 4 questions were open (25%; fair from 50%, good from 70%)" in rationale
    score, rationale, seqs = graded["Exploration"]
    assert score == 2  # 2 of 4 facts: fair -> the middle of 0/2/4
    assert "2 of 4 hidden facts came out (50%" in rationale
    assert "Not reached: They did not go to the funeral and feel guilty." in rationale
    assert seqs == [8, 12, 9]  # the turns that reached facts, then the missed hint
    score, rationale, seqs = graded["Structure"]
    assert (score, seqs) == (1, [12]) and "0 summaries" in rationale
    score, rationale, seqs = graded["Respecting autonomy"]
    assert (score, seqs) == (1, [10])
    assert "1 piece of advice without permission and 0 judgements" in rationale
    score, rationale, _ = graded["Professionalism"]
    assert score == 3  # below, good, below: mean rank 2/3 rounds to fair, the middle of 1-5
    assert "Overall composite" in rationale


def test_good_practice_scores_high_with_strengths_as_evidence() -> None:
    turns = (
        Turn(1, C, "I've been drinking every night since I lost my job."),
        Turn(2, S, "What has that been like for you?"),
        Turn(3, C, "Honestly it's the only thing that helps me relax."),
        Turn(4, S, "Part of you knows it isn't helping, and part of you needs it to unwind."),
        Turn(5, C, "Yeah. My wife hates it."),
        Turn(
            6,
            S,
            "You're worried it is hurting your marriage, even though it feels like a lifeline.",
        ),
        Turn(7, C, "Exactly."),
        Turn(8, S, "So far you've told me the drinking helps you unwind and worries your wife."),
    )
    evaluation = evaluate_offline(turns, (), [criterion("Empathy"), criterion("Open questions")])
    empathy, questions = evaluation.criteria
    assert empathy.automatic_score == 3
    assert [e.seq for e in empathy.evidence] == [4, 6, 8]
    assert questions.automatic_score == 3 and [e.seq for e in questions.evidence] == [2]


def test_exploration_without_facts_falls_back_to_the_composite() -> None:
    evaluation = evaluate_offline(GRIEF, (), [criterion("Exploration")])
    assert "no hidden facts" in evaluation.criteria[0].rationale


def test_no_questions_at_all_is_below_with_words_not_a_crash() -> None:
    turns = (Turn(1, C, "Hello."), Turn(2, S, "Hi there."))
    results = evaluate_offline(turns, (), [criterion("Open questions"), criterion("Empathy")])
    assert [r.automatic_score for r in results.criteria] == [1, 1]
    assert "No questions were asked." in results.criteria[0].rationale


_SENTENCES = st.sampled_from(
    [
        "Do you drink?",
        "What brings you here today?",
        "You should stop.",
        "It sounds like you're exhausted.",
        "So far you've told me a lot.",
        "That's stupid.",
        "I'm fine.",
        "My dad died and I miss him. " * 12,
        "",
    ]
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), _SENTENCES), max_size=14), st.integers(0, 5))
def test_evidence_always_names_turns_that_exist_and_quotes_them(
    lines: list[tuple[bool, str]], offset: int
) -> None:
    turns = tuple(
        Turn(offset + 2 * i, S if student else C, text) for i, (student, text) in enumerate(lines)
    )
    coded = code_transcript(turns)
    coverage = fact_coverage(turns, GRIEF_FACTS, coded)
    results = grade_offline(turns, coded, RUBRIC, session_metrics(turns, coded), coverage)
    texts = {t.seq: t.text for t in turns}
    for result in results:
        assert len(result.evidence) <= 3
        assert result.automatic_score in next(c for c in RUBRIC if c.name == result.name).scores
        for evidence in result.evidence:
            assert evidence.seq in texts
            assert quote_in(evidence.quote, texts[evidence.seq])
            assert len(evidence.quote) <= QUOTE_CHARS
