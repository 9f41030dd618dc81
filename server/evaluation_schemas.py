"""Bodies of the evaluation API: the teacher's change in, the evaluation, agreement and
progress out. The answers are validated against these models before they are sent, so
``/openapi.json`` says exactly what the routes return."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from server.schemas import Input, Name

EvaluationStatus = Literal["pending", "running", "done", "failed"]
GraderName = Literal["automatic", "llm"]
Comment = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2_000)]


class ReviewItemIn(Input):
    """One criterion: a field left out stays as it was; ``null`` clears it (the score
    goes back to the automatic one, the comment away)."""

    name: Name
    score: int | None = Field(default=None, ge=0, le=100)
    comment: Comment | None = None


class ReviewIn(Input):
    criteria: list[ReviewItemIn] = Field(min_length=1, max_length=50)


class EvidenceOut(BaseModel):
    seq: int
    quote: str


class CriterionOut(BaseModel):
    name: str
    #: the grader's proposal; ``score`` is the teacher's where they set one.
    automatic_score: int
    score: int
    rationale: str
    evidence: list[EvidenceOut]
    comment: str | None
    #: who last changed this criterion (``teacher:{id}``) and when.
    reviewed_by: str | None
    reviewed_at: datetime | None


class StudentCriterionOut(BaseModel):
    name: str
    score: int
    rationale: str
    evidence: list[EvidenceOut]
    comment: str | None


class CoverageOut(BaseModel):
    fact: str
    disclosed_seq: int | None
    suggestion: str | None


class AlternativeOut(BaseModel):
    seq: int
    text: str
    why: str


class GradedLevelOut(BaseModel):
    score: int
    descriptor: str


class GradedCriterionOut(BaseModel):
    """A criterion of the rubric as it was when graded (levels highest first)."""

    name: str
    description: str
    levels: list[GradedLevelOut]


class _EvaluationBase(BaseModel):
    status: EvaluationStatus
    grader: GraderName
    #: ``{name: {"value", "seqs", "threshold", "level"}}``: the skill metrics.
    metrics: dict[str, dict[str, Any]]
    coverage: list[CoverageOut]
    alternatives: list[AlternativeOut]
    rubric: list[GradedCriterionOut]
    released_at: datetime | None


class EvaluationOut(_EvaluationBase):
    criteria: list[CriterionOut]
    #: why it failed (a failed LLM grading keeps the automatic result), else None.
    error: str | None


class StudentEvaluationOut(_EvaluationBase):
    criteria: list[StudentCriterionOut]


class AgreementCriterionOut(BaseModel):
    criterion: str
    #: reviewed sessions: the teacher set a score, or released the evaluation as it was.
    n: int
    kept_share: float | None
    mean_abs_difference: float | None
    kappa: float | None
    #: why ``kappa`` is null; "" when it is a number.
    kappa_note: str


class AgreementRubricOut(BaseModel):
    rubric_id: uuid.UUID
    name: str
    #: sessions with at least one reviewed criterion.
    sessions: int
    criteria: list[AgreementCriterionOut]


class AgreementOut(BaseModel):
    rubrics: list[AgreementRubricOut]


class ProgressPointOut(BaseModel):
    session_id: uuid.UUID
    at: datetime
    #: on the series' scale (percent, or a ratio); null when nothing to divide by.
    value: float | None


class ProgressSeriesOut(BaseModel):
    metric: str
    label: str
    thresholds: dict[str, float]
    points: list[ProgressPointOut]
    #: the same series as a self-contained SVG line chart.
    svg: str


class ProgressStudentOut(BaseModel):
    key: str
    name: str
    email: str | None
    series: list[ProgressSeriesOut]


class ProgressOut(BaseModel):
    students: list[ProgressStudentOut]
