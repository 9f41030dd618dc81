"""What an evaluation reads: the transcript, the hidden facts with their disclosure, the rubric.

Plain frozen values built by the caller from SQL rows or API bodies; nothing here
does I/O. ``Turn`` and ``Role`` are the skill coder's own (:mod:`skills.coding`), so
a transcript goes to :func:`skills.session_metrics` without conversion.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from llm.base import HiddenFact
from skills import Role, Turn

__all__ = [
    "Criterion",
    "FactRecord",
    "RubricLevel",
    "Turn",
    "criteria_from_api",
    "fact_records",
    "turns_from_items",
]


@dataclass(frozen=True, slots=True)
class FactRecord:
    """One hidden fact of the session's profile and whether it came out.

    ``index`` is the fact's position in the profile (``FactView.index``);
    ``disclosed_seq`` is the seq of the client reply that disclosed it
    (``FactView.disclosed_seq``), None when it stayed hidden.
    """

    index: int
    fact: str
    topics: tuple[str, ...] = ()
    trust_needed: int = 50
    disclosed_seq: int | None = None

    @property
    def disclosed(self) -> bool:
        return self.disclosed_seq is not None


@dataclass(frozen=True, slots=True)
class RubricLevel:
    score: int
    descriptor: str


@dataclass(frozen=True, slots=True)
class Criterion:
    """A rubric criterion; ``levels`` highest score first, as ``RubricIn`` stores them."""

    name: str
    description: str
    levels: tuple[RubricLevel, ...]

    def __post_init__(self) -> None:
        if not self.levels:
            raise ValueError(f"criterion {self.name!r} has no levels")
        ordered = tuple(sorted(self.levels, key=lambda level: -level.score))
        if len({level.score for level in ordered}) != len(ordered):
            raise ValueError(f"criterion {self.name!r} repeats a score")
        object.__setattr__(self, "levels", ordered)

    @property
    def scores(self) -> tuple[int, ...]:
        """Every allowed score, lowest first."""
        return tuple(sorted(level.score for level in self.levels))

    def descriptor(self, score: int) -> str:
        return next((level.descriptor for level in self.levels if level.score == score), "")


def criteria_from_api(criteria: Iterable[Mapping[str, object]]) -> tuple[Criterion, ...]:
    """Criteria from ``RubricIn``/``RubricOut`` shaped dicts (``name``, ``description``,
    ``levels: [{"score", "descriptor"}]``; other keys such as ``weight`` are ignored).

    Raises ``ValueError`` naming the criterion when a field is missing or mistyped.
    """
    out: list[Criterion] = []
    for position, data in enumerate(criteria):
        name, description, levels = (
            data.get("name"),
            data.get("description", ""),
            data.get("levels"),
        )
        if not isinstance(name, str) or not isinstance(description, str):
            raise ValueError(f"criterion {position}: name and description must be text")
        if not isinstance(levels, list):
            raise ValueError(f"criterion {name!r}: levels must be a list")
        parsed: list[RubricLevel] = []
        for level in levels:
            score = level.get("score") if isinstance(level, dict) else None
            descriptor = level.get("descriptor", "") if isinstance(level, dict) else None
            if not isinstance(score, int) or isinstance(score, bool):
                raise ValueError(f"criterion {name!r}: every level needs an integer score")
            if not isinstance(descriptor, str):
                raise ValueError(f"criterion {name!r}: a level's descriptor must be text")
            parsed.append(RubricLevel(score, descriptor))
        out.append(Criterion(name, description, tuple(parsed)))
    return tuple(out)


def fact_records(
    facts: Sequence[HiddenFact], disclosed_seqs: Mapping[int, int | None]
) -> tuple[FactRecord, ...]:
    """The profile's facts (in order) with the disclosing reply's seq by fact index,
    as the last ``ClientStateEvent.facts`` of the session records them."""
    return tuple(
        FactRecord(
            index=index,
            fact=fact.fact,
            topics=tuple(fact.topics),
            trust_needed=fact.trust_needed,
            disclosed_seq=disclosed_seqs.get(index),
        )
        for index, fact in enumerate(facts)
    )


def turns_from_items(items: Iterable[Mapping[str, object]]) -> list[Turn]:
    """Turns from transcript items (``{"seq", "role", "text", ...}``, the API's shape).

    Keeps student and client messages with text, in seq order; whispers (the
    teacher's notes to the student) and empty failed replies are not the interview.
    """
    roles = {role.value: role for role in Role}
    turns: list[Turn] = []
    for item in items:
        seq, role, text = item.get("seq"), item.get("role"), item.get("text")
        if not isinstance(seq, int) or not isinstance(text, str) or not text.strip():
            continue
        if isinstance(role, str) and role in roles:
            turns.append(Turn(seq, roles[role], text))
    return sorted(turns, key=lambda turn: turn.seq)
