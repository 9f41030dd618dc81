"""Feedback that teaches: the pure evaluation core of a finished session.

A middle floor beside ``realtime``: it reads the skill coder (``skills``) and the
LLM contract types (``llm.base``), and nothing of ``server``, ``realtime`` or
``storage``; no I/O, no model calls, no clock. The caller loads the transcript,
facts and rubric, runs the LLM grader if any, stores and serves the result.

- :mod:`evaluation.transcript`: the input (turns, hidden facts, rubric criteria);
- :mod:`evaluation.coverage`: which hidden facts came out, what might have reached the rest;
- :mod:`evaluation.grader_prompt`: the LLM grader"s prompt and the check of its answer;
"""

from __future__ import annotations

from evaluation.coverage import (
    COVERAGE_SHARE,
    FactCoverage,
    Move,
    coverage_metric,
    fact_coverage,
)
from evaluation.grader_prompt import (
    GRADER_RETRIES,
    GraderPrompt,
    GraderRejection,
    GraderResult,
    build_grader_prompt,
    parse_grader_output,
    retry_prompt,
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
    "GRADER_RETRIES",
    "Alternative",
    "Criterion",
    "CriterionResult",
    "Evidence",
    "FactCoverage",
    "FactRecord",
    "Grader",
    "GraderPrompt",
    "GraderRejection",
    "GraderResult",
    "Move",
    "RubricLevel",
    "Turn",
    "build_grader_prompt",
    "coverage_metric",
    "criteria_from_api",
    "fact_coverage",
    "fact_records",
    "parse_grader_output",
    "quote_in",
    "quote_of",
    "retry_prompt",
    "turns_from_items",
]
