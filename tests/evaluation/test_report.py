"""The whole automatic evaluation and its API JSON."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from evaluation import (
    COVERAGE_METRIC,
    Grader,
    GraderResult,
    TeacherReview,
    evaluate_offline,
    parse_grader_output,
    to_api,
    with_grader_result,
)
from skills import code_transcript
from tests.evaluation.examples import GRIEF, GRIEF_FACTS, RUBRIC

API_KEYS = {
    "status",
    "grader",
    "criteria",
    "metrics",
    "coverage",
    "alternatives",
    "released_at",
}


def test_the_api_json_has_the_issues_shape() -> None:
    evaluation = evaluate_offline(GRIEF, GRIEF_FACTS, RUBRIC)
    data = to_api(evaluation, "draft")
    assert json.loads(json.dumps(data)) == data
    assert set(data) == API_KEYS
    assert (data["status"], data["grader"], data["released_at"]) == ("draft", "automatic", None)
    for criterion in data["criteria"]:
        assert set(criterion) == {
            "name",
            "automatic_score",
            "score",
            "rationale",
            "evidence",
            "comment",
        }
        assert criterion["score"] == criterion["automatic_score"]
        assert criterion["comment"] is None
        assert all(set(e) == {"seq", "quote"} for e in criterion["evidence"])
    assert data["coverage"][0] == {
        "fact": "Their father died four months ago",
        "disclosed_seq": 9,
        "suggestion": None,
    }
    assert data["coverage"][1]["disclosed_seq"] is None
    assert data["coverage"][1]["suggestion"]
    assert [a["seq"] for a in data["alternatives"]] == [6, 8, 10]
    assert all(set(a) == {"seq", "text", "why"} for a in data["alternatives"])
    assert data["metrics"]["open_question_share"]["level"] == "below"
    assert data["metrics"][COVERAGE_METRIC] == {
        "value": 0.5,
        "seqs": [9, 13],
        "threshold": {"fair": 0.5, "good": 0.75},
        "level": "fair",
    }


def test_every_evidence_and_alternative_seq_is_a_turn_of_the_session() -> None:
    data = to_api(evaluate_offline(GRIEF, GRIEF_FACTS, RUBRIC), "draft")
    seqs = {t.seq for t in GRIEF}
    assert all(e["seq"] in seqs for c in data["criteria"] for e in c["evidence"])
    assert all(a["seq"] in seqs for a in data["alternatives"])


def test_the_teachers_scores_comments_and_release_are_merged_in() -> None:
    evaluation = evaluate_offline(GRIEF, GRIEF_FACTS, RUBRIC)
    released = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
    data = to_api(
        evaluation,
        "released",
        {
            "Empathy": TeacherReview(2, "Good complex reflection at the end."),
            "Structure": TeacherReview(comment="Summarise."),
        },
        released,
    )
    empathy, structure = data["criteria"][0], data["criteria"][3]
    assert (empathy["automatic_score"], empathy["score"]) == (1, 2)
    assert empathy["comment"] == "Good complex reflection at the end."
    assert (structure["score"], structure["comment"]) == (
        structure["automatic_score"],
        "Summarise.",
    )
    assert data["released_at"] == "2025-03-14T09:30:00+00:00"
    with pytest.raises(ValueError, match="no such criterion in this evaluation: Charm"):
        to_api(evaluation, "draft", {"Charm": TeacherReview(1)})


def test_the_evaluation_is_deterministic_and_coding_may_be_passed_in() -> None:
    first = evaluate_offline(GRIEF, GRIEF_FACTS, RUBRIC)
    again = evaluate_offline(list(reversed(GRIEF)), GRIEF_FACTS, RUBRIC)
    coded = evaluate_offline(GRIEF, GRIEF_FACTS, RUBRIC, code_transcript(GRIEF))
    assert first == again == coded
    assert json.dumps(to_api(first, "draft")) == json.dumps(to_api(again, "draft"))


def test_known_trust_changes_the_coverage_suggestion() -> None:
    evaluation = evaluate_offline(GRIEF, GRIEF_FACTS, RUBRIC, trust_reached=45)
    assert "it needed trust 60 and the session reached 45" in evaluation.coverage[1].suggestion


def test_a_checked_llm_answer_replaces_the_scores_and_keeps_metrics_and_coverage() -> None:
    offline = evaluate_offline(GRIEF, GRIEF_FACTS, RUBRIC)
    answer = {
        "criteria": [
            {
                "name": c.name,
                "score": c.scores[-1],
                "rationale": "Well done.",
                "evidence": [{"seq": 12, "quote": "It sounds like losing your dad"}],
            }
            for c in RUBRIC
        ]
    }
    result = parse_grader_output(json.dumps(answer), RUBRIC, GRIEF)
    assert isinstance(result, GraderResult)
    llm = with_grader_result(offline, result)
    assert llm.grader is Grader.LLM
    assert [c.automatic_score for c in llm.criteria] == [c.scores[-1] for c in RUBRIC]
    assert (llm.metrics, llm.coverage) == (offline.metrics, offline.coverage)
    assert llm.alternatives == offline.alternatives  # the model gave none
    assert to_api(llm, "draft")["grader"] == "llm"


def test_an_empty_session_still_evaluates() -> None:
    hidden = tuple(replace(fact, disclosed_seq=None) for fact in GRIEF_FACTS)
    data = to_api(evaluate_offline((), hidden, RUBRIC), "draft")
    assert [c["evidence"] for c in data["criteria"]] == [[]] * len(RUBRIC)
    assert data["alternatives"] == []
    assert data["metrics"][COVERAGE_METRIC]["value"] == 0.0
