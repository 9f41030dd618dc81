"""Feedback that teaches: the pure evaluation core of a finished session.

A middle floor beside ``realtime``: it reads the skill coder (``skills``) and the
LLM contract types (``llm.base``), and nothing of ``server``, ``realtime`` or
``storage``; no I/O, no model calls, no clock. The caller loads the transcript,
facts and rubric, runs the LLM grader if any, stores and serves the result.

- :mod:`evaluation.transcript`: the input (turns, hidden facts, rubric criteria);
- :mod:`evaluation.coverage`: which hidden facts came out, what might have reached the rest;
- :mod:`evaluation.offline_grader`: metrics and coverage mapped onto rubric levels;
- :mod:`evaluation.alternatives`: rewrites of the weakest student turns;
- :mod:`evaluation.grader_prompt`: the LLM grader's prompt and the check of its answer;
- :mod:`evaluation.agreement`: teacher versus automatic grader, per criterion;
- :mod:`evaluation.progress`: a student's metric series and an SVG line chart;
- :mod:`evaluation.report`: :class:`Evaluation`, :func:`evaluate_offline`, :func:`to_api`;
- :mod:`evaluation.loading`: stored rows to inputs, results to the stored and served JSON.

:mod:`evaluation.jobs` is the one module with I/O (the database, the LLM grader): the
background job that evaluates ended sessions. It is not imported here; the server builds
it (``server.composition``).
"""

from __future__ import annotations

from evaluation.agreement import (
    Agreement,
    ReviewedScore,
    agreement_by_criterion,
    criterion_agreement,
)
from evaluation.alternatives import (
    ALTERNATIVES,
    Weakness,
    open_question,
    permission_first,
    reflection_of,
    suggest_alternatives,
    weakest_turns,
)
from evaluation.coverage import COVERAGE_SHARE, FactCoverage, Move, coverage_metric, fact_coverage
from evaluation.grader_prompt import (
    GRADER_RETRIES,
    GraderPrompt,
    GraderRejection,
    GraderResult,
    build_grader_prompt,
    parse_grader_output,
    retry_prompt,
)
from evaluation.offline_grader import Family, family_of, grade_offline, score_for
from evaluation.progress import (
    SERIES,
    SessionRecord,
    StudentProgress,
    StudentSeries,
    line_chart_svg,
    progress_by_student,
    student_key,
)
from evaluation.report import (
    COVERAGE_METRIC,
    Evaluation,
    EvaluationJSON,
    TeacherReview,
    evaluate_offline,
    to_api,
    with_grader_result,
)
from evaluation.results import Alternative, CriterionResult, Evidence, Grader, quote_in, quote_of
from evaluation.transcript import (
    Criterion,
    FactRecord,
    RubricLevel,
    Turn,
    criteria_from_api,
    fact_records,
    turns_from_items,
)

__all__ = [
    "ALTERNATIVES",
    "COVERAGE_METRIC",
    "COVERAGE_SHARE",
    "GRADER_RETRIES",
    "SERIES",
    "Agreement",
    "Alternative",
    "Criterion",
    "CriterionResult",
    "Evaluation",
    "EvaluationJSON",
    "Evidence",
    "FactCoverage",
    "FactRecord",
    "Family",
    "Grader",
    "GraderPrompt",
    "GraderRejection",
    "GraderResult",
    "Move",
    "ReviewedScore",
    "RubricLevel",
    "SessionRecord",
    "StudentProgress",
    "StudentSeries",
    "TeacherReview",
    "Turn",
    "Weakness",
    "agreement_by_criterion",
    "build_grader_prompt",
    "coverage_metric",
    "criteria_from_api",
    "criterion_agreement",
    "evaluate_offline",
    "fact_coverage",
    "fact_records",
    "family_of",
    "grade_offline",
    "line_chart_svg",
    "open_question",
    "parse_grader_output",
    "permission_first",
    "progress_by_student",
    "quote_in",
    "quote_of",
    "reflection_of",
    "retry_prompt",
    "score_for",
    "student_key",
    "suggest_alternatives",
    "to_api",
    "turns_from_items",
    "weakest_turns",
    "with_grader_result",
]
