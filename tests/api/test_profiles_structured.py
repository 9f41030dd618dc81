"""Structured hidden facts, style and avoided topics through the profile API, on SQLite
and PostgreSQL: what is sent (objects, plain strings, comma-separated topics) and what
comes back (always the structured form, in the teacher's order)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from storage.text import NUL_MESSAGE
from tests.api.conftest import NewTeacher, profile_body

FACTS: list[Any] = [
    {
        "fact": "Their father died four months ago.",
        "disclosure": "My dad died in the spring.",
        "topics": ["father", "funeral", "grief"],
        "trust_needed": 70,
    },
    {
        "fact": "They drink most nights.",
        "topics": " sleep, Nights ,, drinking, nights ",
        "trust_needed": 45,
    },
]


async def _create(teacher: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await teacher.post("/api/profiles", json=profile_body(**overrides))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _refused(teacher: httpx.AsyncClient, **overrides: Any) -> dict[str, str]:
    response = await teacher.post("/api/profiles", json=profile_body(**overrides))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    fields: dict[str, str] = error["fields"]
    return fields


async def test_structured_facts_round_trip(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    profile = await _create(
        teacher, hidden_facts=FACTS, style="reserved", avoid=["religion", "their ex"]
    )
    expected = [
        {
            "fact": "Their father died four months ago.",
            "disclosure": "My dad died in the spring.",
            "topics": ["father", "funeral", "grief"],
            "trust_needed": 70,
        },
        # Comma-separated topics are split, trimmed, blanks and case repeats dropped.
        {
            "fact": "They drink most nights.",
            "disclosure": "",
            "topics": ["sleep", "Nights", "drinking"],
            "trust_needed": 45,
        },
    ]
    assert profile["hidden_facts"] == expected
    assert (profile["style"], profile["avoid"]) == ("reserved", ["religion", "their ex"])
    fetched = (await teacher.get(f"/api/profiles/{profile['id']}")).json()
    assert fetched["hidden_facts"] == expected and fetched["style"] == "reserved"
    listed = (await teacher.get("/api/profiles")).json()["items"]
    assert listed[0]["hidden_facts"] == expected

    # Replacing reorders: the stored order is the teacher's order, never sorted by trust.
    moved = [expected[1], expected[0], {"fact": "A third one.", "trust_needed": 90}]
    updated = await teacher.put(
        f"/api/profiles/{profile['id']}",
        json=profile_body(hidden_facts=moved, style="upset", avoid="money, Money, work"),
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert [f["fact"] for f in body["hidden_facts"]] == [
        "They drink most nights.",
        "Their father died four months ago.",
        "A third one.",
    ]
    assert body["hidden_facts"][2] == {
        "fact": "A third one.",
        "disclosure": "",
        "topics": [],
        "trust_needed": 90,
    }
    assert (body["style"], body["avoid"]) == ("upset", ["money", "work"])
    again = (await teacher.get(f"/api/profiles/{profile['id']}")).json()
    assert again["hidden_facts"] == body["hidden_facts"] and again["avoid"] == ["money", "work"]


async def test_defaults_are_plain_and_empty(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    response = await teacher.post("/api/profiles", json={"name": "Kim"})
    assert response.status_code == 201, response.text
    profile = response.json()
    assert (profile["hidden_facts"], profile["style"], profile["avoid"]) == ([], "plain", [])
    assert profile["difficulty"] == 3


async def test_plain_strings_become_facts_with_trust_by_list_order(
    new_teacher: NewTeacher,
) -> None:
    teacher = await new_teacher()
    profile = await _create(
        teacher,
        hidden_facts=[
            "Lost their job.",
            {"fact": "Owes money.", "topics": "money, debt"},
            {"fact": "Set by the teacher.", "trust_needed": 10},
            {"fact": "Null means by order.", "trust_needed": None},
            "  Sleeps in the car.  ",
        ],
    )
    facts = profile["hidden_facts"]
    # Five facts: 30 + 50 * i // 4 for those without their own trust.
    assert [f["trust_needed"] for f in facts] == [30, 42, 10, 67, 80]
    assert facts[0] == {
        "fact": "Lost their job.",
        "disclosure": "",
        "topics": [],
        "trust_needed": 30,
    }
    assert facts[1]["topics"] == ["money", "debt"]
    assert facts[4]["fact"] == "Sleeps in the car."

    single = await _create(teacher, hidden_facts=["Only one."])
    assert single["hidden_facts"][0]["trust_needed"] == 30
    three = await _create(teacher, hidden_facts=["a", "b", "c"])
    assert [f["trust_needed"] for f in three["hidden_facts"]] == [30, 55, 80]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"hidden_facts": [{"fact": "x", "trust_needed": 150}]}, {"hidden_facts.0.trust_needed"}),
        (
            {"hidden_facts": ["ok", {"fact": "x", "trust_needed": -1}]},
            {"hidden_facts.1.trust_needed"},
        ),
        # Strict: a boolean or a numeric string is not a number.
        ({"hidden_facts": [{"fact": "x", "trust_needed": True}]}, {"hidden_facts.0.trust_needed"}),
        ({"hidden_facts": [{"fact": "x", "trust_needed": "50"}]}, {"hidden_facts.0.trust_needed"}),
        ({"hidden_facts": [{"fact": "x", "trust_needed": 50.5}]}, {"hidden_facts.0.trust_needed"}),
        # A plain string's problem is named where the string is.
        ({"hidden_facts": ["ok", "  "]}, {"hidden_facts.1"}),
        ({"hidden_facts": ["x" * 1_001]}, {"hidden_facts.0"}),
        ({"hidden_facts": [{"fact": ""}]}, {"hidden_facts.0.fact"}),
        ({"hidden_facts": [{"disclosure": "I..."}]}, {"hidden_facts.0.fact"}),
        (
            {"hidden_facts": [{"fact": "x", "disclosure": "d" * 1_001}]},
            {"hidden_facts.0.disclosure"},
        ),
        ({"hidden_facts": [{"fact": "x" * 1_001}]}, {"hidden_facts.0.fact"}),
        ({"hidden_facts": [{"fact": "x", "secret": 1}]}, {"hidden_facts.0.secret"}),
        ({"hidden_facts": [5]}, {"hidden_facts.0"}),
        ({"hidden_facts": ["x"] * 21}, {"hidden_facts"}),
        ({"hidden_facts": "one fact"}, {"hidden_facts"}),
        (
            {"hidden_facts": [{"fact": "x", "topics": ["grief", "a,b", " ", "t" * 61]}]},
            {"hidden_facts.0.topics.1", "hidden_facts.0.topics.2", "hidden_facts.0.topics.3"},
        ),
        (
            {"hidden_facts": [{"fact": "x", "topics": ",".join(f"t{i}" for i in range(13))}]},
            {"hidden_facts.0.topics"},
        ),
        ({"hidden_facts": [{"fact": "x", "topics": "a" * 1_001}]}, {"hidden_facts.0.topics"}),
        ({"hidden_facts": [{"fact": "x", "topics": [1]}]}, {"hidden_facts.0.topics.0"}),
        ({"style": "angry"}, {"style"}),
        ({"style": None}, {"style"}),
        ({"avoid": [f"topic {i}" for i in range(21)]}, {"avoid"}),
        ({"avoid": ["money", ""]}, {"avoid.1"}),
        ({"avoid": 3}, {"avoid"}),
    ],
)
async def test_bad_values_are_422_naming_the_field(
    new_teacher: NewTeacher, overrides: dict[str, Any], expected: set[str]
) -> None:
    teacher = await new_teacher()
    fields = await _refused(teacher, **overrides)
    assert set(fields) == expected
    assert (await teacher.get("/api/profiles")).json()["items"] == []


async def test_messages_are_plain_words(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    fields = await _refused(
        teacher,
        hidden_facts=[
            {"fact": "x", "trust_needed": 150, "topics": ["a,b"]},
            5,
            {"fact": "y", "topics": ",".join(f"t{i}" for i in range(13))},
        ],
        style="angry",
    )
    assert fields["hidden_facts.0.trust_needed"] == "Input should be less than or equal to 100"
    assert "comma" in fields["hidden_facts.0.topics.0"]
    assert fields["hidden_facts.1"] == "must be a text or an object with a fact"
    assert "at most 12 items" in fields["hidden_facts.2.topics"]
    assert "'plain'" in fields["style"] and "'pleasing'" in fields["style"]


async def test_text_sql_cannot_store_is_refused_inside_facts(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    fields = await _refused(
        teacher,
        hidden_facts=[{"fact": "x", "disclosure": "a\x00b", "topics": ["ok", "c\x00d"]}],
        avoid="e\x00f",
    )
    assert fields == {
        "hidden_facts.0.disclosure": NUL_MESSAGE,
        "hidden_facts.0.topics.1": NUL_MESSAGE,
        "avoid": NUL_MESSAGE,
    }


async def test_another_teacher_cannot_replace_the_facts(new_teacher: NewTeacher) -> None:
    alice = await new_teacher()
    bob = await new_teacher()
    profile = await _create(alice, hidden_facts=FACTS)
    answer = await bob.put(
        f"/api/profiles/{profile['id']}", json=profile_body(hidden_facts=["Bob's"])
    )
    assert answer.status_code == 404
    kept = (await alice.get(f"/api/profiles/{profile['id']}")).json()
    assert [f["fact"] for f in kept["hidden_facts"]] == [f["fact"] for f in FACTS]
