"""From stored rows to the core's inputs, and from its result to the stored and served JSON.

Pure, like the rest of the package: the callers (:mod:`evaluation.jobs`, the server)
read the rows and hand plain values in.

- :func:`inputs_from`: transcript items, the profile's stored facts, the rubric's
  criteria and the session's ``client_state`` audit data -> :class:`EvaluationInputs`.
- :func:`stored_result`: an :class:`Evaluation` as kept in SQL (the API's shape before
  any review: every ``score`` is the automatic one, no comments).
- :func:`served`: a stored result with the teacher's reviews merged in, for the teacher
  or, without the review's bookkeeping, for the student.
- :func:`review_problems`: what is wrong with a teacher's change, per field.
- :func:`reviewed_scores`: the (automatic, final) pairs the agreement figures count.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from evaluation.agreement import ReviewedScore
from evaluation.report import Evaluation, to_api
from evaluation.transcript import (
    Criterion,
    FactRecord,
    Turn,
    criteria_from_api,
    fact_records,
    turns_from_items,
)
from llm.base import HiddenFact
from skills import Role

__all__ = [
    "Audience",
    "EvaluationInputs",
    "inputs_from",
    "review_problems",
    "reviewed_scores",
    "served",
    "stored_result",
]

Audience = Literal["teacher", "student"]
#: Fields of a served criterion only the teacher sees.
TEACHER_ONLY = ("automatic_score", "reviewed_by", "reviewed_at")


@dataclass(frozen=True, slots=True)
class EvaluationInputs:
    turns: tuple[Turn, ...]
    facts: tuple[FactRecord, ...]
    rubric: tuple[Criterion, ...]
    #: The highest trust the client reached; None when no state was recorded.
    trust_reached: int | None

    @property
    def has_student_turns(self) -> bool:
        return any(turn.role is Role.STUDENT for turn in self.turns)


def inputs_from(
    items: Iterable[Mapping[str, object]],
    stored_facts: Sequence[Mapping[str, Any]],
    criteria: Sequence[Mapping[str, object]],
    client_states: Sequence[Mapping[str, Any]],
) -> EvaluationInputs:
    """The core's inputs. ``items`` are transcript items (``seq``, ``role``, ``text``);
    ``stored_facts`` the profile's ``hidden_facts``; ``criteria`` ``RubricIn``-shaped;
    ``client_states`` the ``client_state`` audit rows' data in seq order. A fact's
    disclosure is the first seq any state gives it; trust is the highest any state had.

    Raises ``ValueError`` for a rubric the core cannot read."""
    disclosed: dict[int, int | None] = {}
    trust: list[int] = []
    for state in client_states:
        value = state.get("trust")
        if isinstance(value, int) and not isinstance(value, bool):
            trust.append(value)
        for fact in state.get("facts") or ():
            index, seq = fact.get("index"), fact.get("disclosed_seq")
            if isinstance(index, int) and isinstance(seq, int) and disclosed.get(index) is None:
                disclosed[index] = seq
    facts = tuple(
        HiddenFact(
            fact=str(fact.get("fact", "")),
            topics=tuple(str(topic) for topic in fact.get("topics") or ()),
            trust_needed=int(fact.get("trust_needed", 50)),
        )
        for fact in stored_facts
    )
    return EvaluationInputs(
        turns=tuple(turns_from_items(items)),
        facts=fact_records(facts, disclosed),
        rubric=criteria_from_api(criteria),
        trust_reached=max(trust) if trust else None,
    )


def stored_result(evaluation: Evaluation) -> dict[str, Any]:
    """What SQL keeps of an evaluation: the API's JSON without status and release (the
    row's own columns) and without the review (merged in by :func:`served`)."""
    data: dict[str, Any] = dict(to_api(evaluation, status=""))
    del data["status"], data["released_at"]
    for criterion in data["criteria"]:
        del criterion["score"], criterion["comment"]
    return data


def served(
    result: Mapping[str, Any] | None,
    *,
    status: str,
    grader: str,
    overrides: Mapping[str, Mapping[str, Any]],
    released_at: datetime | None,
    audience: Audience = "teacher",
) -> dict[str, Any]:
    """The API's evaluation JSON: ``score`` is the teacher's where they set one, else the
    automatic one; ``comment`` the teacher's. Empty lists while nothing is stored yet.
    Reviews of criteria the result lacks (the rubric changed before a new run) are left
    out. The student's copy has no ``automatic_score`` and no review bookkeeping."""
    stored = copy.deepcopy(dict(result or {}))
    criteria: list[dict[str, Any]] = []
    for item in stored.get("criteria", []):
        review = overrides.get(item["name"], {})
        score = review.get("score")
        criterion = {
            "name": item["name"],
            "automatic_score": item["automatic_score"],
            "score": item["automatic_score"] if score is None else score,
            "rationale": item["rationale"],
            "evidence": item["evidence"],
            "comment": review.get("comment"),
            "reviewed_by": review.get("by"),
            "reviewed_at": review.get("at"),
        }
        if audience == "student":
            for name in TEACHER_ONLY:
                del criterion[name]
        criteria.append(criterion)
    return {
        "status": status,
        "grader": stored.get("grader", grader),
        "criteria": criteria,
        "metrics": stored.get("metrics", {}),
        "coverage": stored.get("coverage", []),
        "alternatives": stored.get("alternatives", []),
        "released_at": released_at.isoformat() if released_at is not None else None,
    }


def review_problems(
    rubric: Sequence[Mapping[str, object]], changes: Sequence[tuple[str, int | None]]
) -> dict[str, str]:
    """Per-field problems of a teacher's change (``criteria.2.name``, ``criteria.0.score``):
    a criterion the graded rubric lacks or named twice, a score that is not one of its
    levels. ``changes`` are (name, score or None) in the request's order."""
    scales = {c.name: c.scores for c in criteria_from_api(rubric)}
    problems: dict[str, str] = {}
    seen: set[str] = set()
    for position, (name, score) in enumerate(changes):
        if name not in scales:
            problems[f"criteria.{position}.name"] = "no such criterion in this evaluation"
        elif name in seen:
            problems[f"criteria.{position}.name"] = "this criterion is named twice"
        elif score is not None and score not in scales[name]:
            allowed = ", ".join(str(s) for s in scales[name])
            problems[f"criteria.{position}.score"] = f"must be one of {allowed}"
        seen.add(name)
    return problems


def reviewed_scores(
    result: Mapping[str, Any] | None,
    overrides: Mapping[str, Mapping[str, Any]],
    *,
    released: bool,
) -> list[ReviewedScore]:
    """The criteria the teacher reviewed: scored by the teacher (final = their score), or
    released as it was (final = the automatic score, kept)."""
    pairs: list[ReviewedScore] = []
    for item in (result or {}).get("criteria", []):
        automatic = item["automatic_score"]
        score = overrides.get(item["name"], {}).get("score")
        if score is not None:
            pairs.append(ReviewedScore(item["name"], automatic, score))
        elif released:
            pairs.append(ReviewedScore(item["name"], automatic, automatic))
    return pairs
