"""The evaluation's input: rubric criteria from API bodies, facts, transcript items."""

from __future__ import annotations

import pytest

from evaluation import Criterion, RubricLevel, criteria_from_api, fact_records, turns_from_items
from llm.base import HiddenFact
from skills import Role


def test_criteria_keep_the_rubric_order_and_sort_levels_highest_first() -> None:
    criteria = criteria_from_api(
        [
            {
                "name": "Empathy",
                "description": "Reflections",
                "weight": 1.5,
                "levels": [
                    {"score": 1, "descriptor": "rarely"},
                    {"score": 3, "descriptor": "often"},
                ],
            },
            {"name": "Summaries", "levels": [{"score": 0, "descriptor": "none"}]},
        ]
    )
    assert [c.name for c in criteria] == ["Empathy", "Summaries"]
    assert criteria[0].levels == (RubricLevel(3, "often"), RubricLevel(1, "rarely"))
    assert criteria[0].scores == (1, 3)
    assert criteria[0].descriptor(1) == "rarely"
    assert criteria[1].description == ""


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "E", "levels": "3"}, "levels must be a list"),
        ({"name": "E", "levels": [{"score": "3", "descriptor": ""}]}, "integer score"),
        ({"name": "E", "levels": [{"score": True, "descriptor": ""}]}, "integer score"),
        ({"name": "E", "levels": []}, "has no levels"),
        ({"name": 3, "levels": []}, "must be text"),
        (
            {
                "name": "E",
                "levels": [{"score": 1, "descriptor": ""}, {"score": 1, "descriptor": ""}],
            },
            "repeats a score",
        ),
    ],
)
def test_a_malformed_criterion_is_refused_by_name(body: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        criteria_from_api([body])


def test_facts_carry_the_disclosing_reply_seq_by_index() -> None:
    facts = fact_records(
        [HiddenFact("Father died", topics=("father",), trust_needed=40), HiddenFact("Drinks")],
        {0: 9},
    )
    assert facts[0].disclosed_seq == 9 and facts[0].disclosed
    assert facts[0].topics == ("father",) and facts[0].trust_needed == 40
    assert facts[1].disclosed_seq is None and not facts[1].disclosed
    assert facts[1].index == 1


def test_transcript_items_drop_whispers_and_empty_replies_and_sort_by_seq() -> None:
    items: list[dict[str, object]] = [
        {"seq": 4, "role": "client", "text": "I'm fine."},
        {"seq": 2, "role": "student", "text": "How are you?"},
        {"seq": 3, "role": "whisper", "text": "Try a reflection."},
        {"seq": 5, "role": "client", "text": "", "failed": True},
        {"seq": "6", "role": "student", "text": "bad seq"},
    ]
    turns = turns_from_items(items)
    assert [(t.seq, t.role) for t in turns] == [(2, Role.STUDENT), (4, Role.CLIENT)]


def test_a_criterion_is_frozen() -> None:
    criterion = Criterion("E", "", (RubricLevel(1, "x"),))
    with pytest.raises(AttributeError):
        criterion.name = "F"  # type: ignore[misc]
