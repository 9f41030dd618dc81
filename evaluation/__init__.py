"""Feedback that teaches: the pure evaluation core of a finished session.

A middle floor beside ``realtime``: it reads the skill coder (``skills``) and the
LLM contract types (``llm.base``), and nothing of ``server``, ``realtime`` or
``storage``; no I/O, no model calls, no clock. The caller loads the transcript,
facts and rubric, runs the LLM grader if any, stores and serves the result.

- :mod:`evaluation.transcript`: the input (turns, hidden facts, rubric criteria);
- :mod:`evaluation.coverage`: which hidden facts came out, what might have reached the rest;
"""

from __future__ import annotations

from evaluation.coverage import (
    COVERAGE_SHARE,
    FactCoverage,
    Move,
    coverage_metric,
    fact_coverage,
)
from evaluation.results import (
    Alternative,
    CriterionResult,
    Evidence,
    Grader,
    quote_in,
    quote_of,
)
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
    "COVERAGE_SHARE",
    "Alternative",
    "Criterion",
    "CriterionResult",
    "Evidence",
    "FactCoverage",
    "FactRecord",
    "Grader",
    "Move",
    "RubricLevel",
    "Turn",
    "coverage_metric",
    "criteria_from_api",
    "fact_coverage",
    "fact_records",
    "quote_in",
    "quote_of",
    "turns_from_items",
]
