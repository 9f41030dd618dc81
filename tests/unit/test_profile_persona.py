"""Pure tests: a stored profile becomes the LLM layer's Persona (every hidden fact with its
disclosure, topics and trust, the style, the avoided topics), and the trust a fact needs
when the teacher gave none."""

from __future__ import annotations

import importlib
import itertools
import uuid

import pytest

from llm.base import STYLES, HiddenFact
from realtime.transcript import hidden_facts_of, persona_of
from server.demo import DEMO_PROFILE
from server.profile_schemas import ProfileIn, default_trust_needed
from storage.models import ClientProfile, StoredFact

FACTS: list[StoredFact] = [
    {
        "fact": "Their father died four months ago.",
        "disclosure": "My dad died in the spring.",
        "topics": ["father", "funeral", "grief"],
        "trust_needed": 70,
    },
    {"fact": "They drink most nights.", "disclosure": "", "topics": [], "trust_needed": 40},
]


def _profile(**overrides: object) -> ClientProfile:
    fields: dict[str, object] = {
        "id": uuid.uuid4(),
        "owner_id": uuid.uuid4(),
        "name": "Sam Rivera",
        "age": 34,
        "pronouns": "they/them",
        "background": "Warehouse shift lead.",
        "presenting_problem": "Trouble sleeping.",
        "personality": "Guarded.",
        "communication_style": "Short answers.",
        "goals": "Keep the job.",
        "hidden_facts": FACTS,
        "difficulty": 4,
        "opening_line": "Hi.",
        "style": "reserved",
        "avoid": ["their sister", "money"],
    }
    fields.update(overrides)
    return ClientProfile(**fields)


def test_persona_carries_every_fact_style_and_avoid() -> None:
    persona = persona_of(_profile(), "Be patient.")
    assert persona.hidden_facts == (
        HiddenFact(
            fact="Their father died four months ago.",
            disclosure="My dad died in the spring.",
            topics=("father", "funeral", "grief"),
            trust_needed=70,
        ),
        HiddenFact(fact="They drink most nights.", trust_needed=40),
    )
    assert not any(fact.disclosed for fact in persona.hidden_facts)
    assert (persona.style, persona.avoid) == ("reserved", ("their sister", "money"))
    assert (persona.name, persona.age, persona.pronouns) == ("Sam Rivera", 34, "they/them")
    assert (persona.difficulty, persona.opening_line) == (4, "Hi.")
    assert persona.instructions == "Be patient."
    assert persona.directions == ()


@pytest.mark.parametrize("style", STYLES)
def test_every_style_passes_through(style: str) -> None:
    assert persona_of(_profile(style=style), "").style == style


def test_an_unknown_stored_style_reads_as_plain() -> None:
    assert persona_of(_profile(style="shouty"), "").style == "plain"


def test_no_facts_is_an_empty_tuple() -> None:
    assert hidden_facts_of([]) == ()
    assert persona_of(_profile(hidden_facts=[], avoid=[]), "").avoid == ()


def test_the_demo_profile_is_valid_and_complete() -> None:
    fields = ProfileIn.model_validate(DEMO_PROFILE).model_dump()
    persona = persona_of(_profile(**fields), "")
    trust = [fact.trust_needed for fact in persona.hidden_facts]
    assert trust == sorted(trust) and len(set(trust)) == len(trust)
    for fact in persona.hidden_facts:
        assert fact.topics and fact.disclosure.startswith(("My ", "I", "Honestly"))
    assert persona.style != "plain" and persona.avoid


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (1, [30]),
        (2, [30, 80]),
        (3, [30, 55, 80]),
        (4, [30, 46, 63, 80]),
        (5, [30, 42, 55, 67, 80]),
    ],
)
def test_default_trust_rises_evenly_from_30_to_80(count: int, expected: list[int]) -> None:
    assert [default_trust_needed(i, count) for i in range(count)] == expected


def test_default_trust_for_twenty_facts_stays_in_range_and_rises() -> None:
    trust = [default_trust_needed(i, 20) for i in range(20)]
    assert trust[0] == 30 and trust[-1] == 80
    assert all(a < b for a, b in itertools.pairwise(trust))


def test_migration_0003_used_the_same_formula() -> None:
    migration = importlib.import_module("storage.migrations.versions.0003_structured_profiles")
    for count in range(1, 21):
        for index in range(count):
            assert migration.trust_for(index, count) == default_trust_needed(index, count)
