"""One session's evaluation, and its JSON in the shape the API serves.

:func:`evaluate_offline` is the whole automatic evaluation (no model): skill
metrics, hidden-fact coverage, a score per rubric criterion, and alternatives
for the weakest turns. :func:`with_grader_result` swaps in an LLM grader's
checked scores and alternatives, keeping the metrics and coverage. The teacher's
confirmations, the status and the release time belong to the caller and are
only merged in by :func:`to_api`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TypedDict

from evaluation.alternatives import suggest_alternatives
from evaluation.coverage import FactCoverage, coverage_metric, fact_coverage
from evaluation.grader_prompt import GraderResult
from evaluation.offline_grader import grade_offline
from evaluation.results import Alternative, CriterionResult, Grader
from evaluation.transcript import Criterion, FactRecord, Turn
from skills import CodedTurn, Metric, code_transcript, session_metrics

__all__ = [
    "COVERAGE_METRIC",
    "AlternativeJSON",
    "CoverageJSON",
    "CriterionJSON",
    "Evaluation",
    "EvaluationJSON",
    "EvidenceJSON",
    "TeacherReview",
    "evaluate_offline",
    "to_api",
    "with_grader_result",
]

#: The key of the hidden-fact coverage share among the metrics.
COVERAGE_METRIC = "hidden_facts_disclosed"

MetricsJSON = dict[str, dict[str, object]]


@dataclass(frozen=True, slots=True)
class Evaluation:
    grader: Grader
    criteria: tuple[CriterionResult, ...]
    #: ``SessionMetrics.as_dict()`` plus :data:`COVERAGE_METRIC` when the profile has facts.
    metrics: MetricsJSON = field(hash=False)
    coverage: tuple[FactCoverage, ...]
    alternatives: tuple[Alternative, ...]


@dataclass(frozen=True, slots=True)
class TeacherReview:
    """The teacher's word on one criterion: a new score (None keeps the automatic
    one) and a comment for the student."""

    score: int | None = None
    comment: str | None = None


class EvidenceJSON(TypedDict):
    seq: int
    quote: str


class CriterionJSON(TypedDict):
    name: str
    automatic_score: int
    score: int
    rationale: str
    evidence: list[EvidenceJSON]
    comment: str | None


class CoverageJSON(TypedDict):
    fact: str
    disclosed_seq: int | None
    #: what might have reached a fact that stayed hidden; None when disclosed.
    suggestion: str | None


class AlternativeJSON(TypedDict):
    seq: int
    text: str
    why: str


class EvaluationJSON(TypedDict):
    status: str
    grader: str
    criteria: list[CriterionJSON]
    metrics: MetricsJSON
    coverage: list[CoverageJSON]
    alternatives: list[AlternativeJSON]
    released_at: str | None


def evaluate_offline(
    turns: Sequence[Turn],
    facts: Sequence[FactRecord],
    rubric: Sequence[Criterion],
    coded: Sequence[CodedTurn] | None = None,
    *,
    trust_reached: int | None = None,
) -> Evaluation:
    """The automatic evaluation of one session. ``coded`` defaults to
    ``skills.code_transcript(turns)``; ``trust_reached`` is the session's highest trust,
    when known. Pure and deterministic: the same input gives an equal result."""
    turns = sorted(turns, key=lambda turn: turn.seq)
    coded = code_transcript(turns) if coded is None else coded
    metrics = session_metrics(turns, coded)
    coverage = fact_coverage(turns, facts, coded, trust_reached=trust_reached)
    data = metrics.as_dict()
    if coverage:
        data[COVERAGE_METRIC] = _metric_json(coverage_metric(coverage))
    return Evaluation(
        grader=Grader.AUTOMATIC,
        criteria=grade_offline(turns, coded, rubric, metrics, coverage),
        metrics=data,
        coverage=coverage,
        alternatives=suggest_alternatives(turns, coded),
    )


def with_grader_result(offline: Evaluation, result: GraderResult) -> Evaluation:
    """An LLM grader's checked answer in place of the automatic scores; its alternatives
    too when it gave any (else the template ones stay)."""
    return Evaluation(
        grader=Grader.LLM,
        criteria=result.criteria,
        metrics=offline.metrics,
        coverage=offline.coverage,
        alternatives=result.alternatives or offline.alternatives,
    )


def to_api(
    evaluation: Evaluation,
    status: str,
    overrides: Mapping[str, TeacherReview] | None = None,
    released_at: datetime | None = None,
) -> EvaluationJSON:
    """The evaluation as the API serves it. ``score`` is the teacher's score when
    ``overrides`` names one for that criterion, else the automatic one.

    Raises ``ValueError`` when ``overrides`` names a criterion the evaluation lacks
    (checking an override's score against the rubric is the caller's, with the rubric).
    """
    reviews = dict(overrides or {})
    unknown = sorted(set(reviews) - {c.name for c in evaluation.criteria})
    if unknown:
        raise ValueError(f"no such criterion in this evaluation: {', '.join(unknown)}")
    criteria: list[CriterionJSON] = []
    for result in evaluation.criteria:
        review = reviews.get(result.name, TeacherReview())
        criteria.append(
            {
                "name": result.name,
                "automatic_score": result.automatic_score,
                "score": result.automatic_score if review.score is None else review.score,
                "rationale": result.rationale,
                "evidence": [{"seq": e.seq, "quote": e.quote} for e in result.evidence],
                "comment": review.comment,
            }
        )
    return {
        "status": status,
        "grader": evaluation.grader.value,
        "criteria": criteria,
        "metrics": copy.deepcopy(evaluation.metrics),
        "coverage": [
            {
                "fact": c.fact,
                "disclosed_seq": c.disclosed_seq,
                "suggestion": c.suggestion if c.disclosed_seq is None else None,
            }
            for c in evaluation.coverage
        ],
        "alternatives": [
            {"seq": a.seq, "text": a.text, "why": a.why} for a in evaluation.alternatives
        ],
        "released_at": released_at.isoformat() if released_at is not None else None,
    }


def _metric_json(metric: Metric) -> dict[str, object]:
    """The same shape as ``SessionMetrics.as_dict()`` gives each metric."""
    threshold = asdict(metric.threshold) if metric.threshold is not None else None
    level = metric.level.value if metric.level is not None else None
    return {
        "value": metric.value,
        "seqs": list(metric.seqs),
        "threshold": threshold,
        "level": level,
    }
