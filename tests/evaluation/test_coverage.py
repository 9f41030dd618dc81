"""Hidden-fact coverage: disclosures with the move that reached them, and a move per miss."""

from __future__ import annotations

from evaluation import FactCoverage, FactRecord, Move, Turn, coverage_metric, fact_coverage
from skills import Level, Role, code_transcript
from tests.evaluation.examples import GRIEF, GRIEF_FACTS

S, C = Role.STUDENT, Role.CLIENT


def covered(
    turns: tuple[Turn, ...], facts: tuple[FactRecord, ...], trust: int | None = None
) -> tuple[FactCoverage, ...]:
    return fact_coverage(turns, facts, code_transcript(turns), trust_reached=trust)


def test_a_disclosed_fact_names_its_reply_and_the_student_turn_before_it() -> None:
    father = covered(GRIEF, GRIEF_FACTS)[0]
    assert (father.disclosed_seq, father.reached_by) == (9, 8)
    assert father.move is None and father.suggestion == ""


def test_a_hint_the_student_moved_on_from_asks_for_a_complex_reflection() -> None:
    funeral = covered(GRIEF, GRIEF_FACTS)[1]
    assert funeral.disclosed_seq is None
    assert funeral.move is Move.COMPLEX_REFLECTION
    assert funeral.suggestion.startswith(
        'A complex reflection of the guilt under "I don\'t want to talk about the funeral." (seq 9)'
    )
    assert funeral.seqs == (9,)


def test_a_deep_fact_never_raised_asks_for_trust_when_questions_outnumber_reflections() -> None:
    deep = covered(GRIEF, GRIEF_FACTS)[3]
    assert deep.move is Move.MORE_TRUST
    assert "reflections and affirmations before asking about suicide or hopeless" in (
        deep.suggestion
    )
    assert "high trust (85)" in deep.suggestion and "1 reflection for 4 questions" in (
        deep.suggestion
    )


def test_known_trust_below_the_facts_need_comes_first() -> None:
    funeral = covered(GRIEF, GRIEF_FACTS, trust=45)[1]
    assert funeral.move is Move.MORE_TRUST
    assert funeral.suggestion.endswith("it needed trust 60 and the session reached 45.")
    assert covered(GRIEF, GRIEF_FACTS, trust=65)[1].move is Move.COMPLEX_REFLECTION


def test_closed_questions_on_the_topic_ask_for_an_open_one() -> None:
    turns = (
        Turn(1, C, "Things have been hard."),
        Turn(2, S, "Did you go to the funeral?"),
        Turn(3, C, "No."),
        Turn(4, S, "Was the funeral big?"),
        Turn(5, C, "I don't know."),
    )
    fact = (FactRecord(0, "Skipped the funeral", ("funeral", "guilt"), 60),)
    [result] = covered(turns, fact)
    assert result.move is Move.OPEN_QUESTION
    assert result.suggestion == (
        "An open question about funeral or guilt: the closed question at seq 4 could be "
        "answered with a yes or a no."
    )
    assert result.seqs == (4,)


def test_an_open_question_answered_with_i_am_fine_asks_for_the_grief_under_it() -> None:
    turns = (
        Turn(1, S, "What has it been like since your father died?"),
        Turn(2, C, "No. I'm fine. Really."),
    )
    fact = (FactRecord(0, "Has not grieved", ("father", "grief"), 50),)
    [result] = covered(turns, fact)
    assert result.move is Move.COMPLEX_REFLECTION
    assert result.suggestion.startswith(
        'A complex reflection of the grief under "I\'m fine." (seq 2)'
    )
    assert result.seqs == (1, 2)


def test_a_direct_probe_asks_for_more_trust() -> None:
    turns = (
        Turn(1, S, "What are you hiding about your father?"),
        Turn(2, C, "Nothing."),
    )
    [result] = covered(turns, (FactRecord(0, "Father died", ("father",), 50),))
    assert result.move is Move.MORE_TRUST
    assert "the direct probe at seq 1" in result.suggestion


def test_a_topic_that_never_came_up_asks_for_an_open_question() -> None:
    turns = (Turn(1, S, "How has work been?"), Turn(2, C, "Busy."))
    [result] = covered(turns, (FactRecord(0, "Money worries", ("money", "debt"), 50),))
    assert result.move is Move.OPEN_QUESTION
    assert result.suggestion == "An open question about money or debt: it never came up."


def test_a_fact_without_topics_is_matched_by_its_first_telling_word() -> None:
    turns = (Turn(1, S, "Tell me about your week."), Turn(2, C, "My father died."))
    [result] = covered(turns, (FactRecord(0, "Their father died four months ago"),))
    assert result.move is Move.COMPLEX_REFLECTION and result.seqs == (2,)


def test_topics_match_by_stem() -> None:
    turns = (Turn(1, S, "Tell me about it."), Turn(2, C, "The funerals were too much."))
    [result] = covered(turns, (FactRecord(0, "Skipped it", ("funeral",), 50),))
    assert result.seqs == (2,)


def test_coverage_share_is_a_metric_with_its_threshold() -> None:
    metric = coverage_metric(covered(GRIEF, GRIEF_FACTS))
    assert (metric.value, metric.level, metric.seqs) == (0.5, Level.FAIR, (9, 13))
    empty = coverage_metric(())
    assert empty.value is None and empty.level is None


def test_coverage_is_deterministic() -> None:
    assert covered(GRIEF, GRIEF_FACTS) == covered(GRIEF, GRIEF_FACTS)
