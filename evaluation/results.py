"""What a grader hands back, whichever grader it is: scores, evidence, alternatives.

Evidence always names a turn by its seq and quotes that turn's own words, so
the review page can link and highlight it; :func:`quote_in` is the one rule
for "this quote is in that turn", shared by the offline grader and the check
of an LLM grader's answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from textprep import straight_quotes

__all__ = [
    "EVIDENCE_PER_CRITERION",
    "QUOTE_CHARS",
    "Alternative",
    "CriterionResult",
    "Evidence",
    "Grader",
    "quote_in",
    "quote_of",
]

#: Longest evidence quote: about two spoken sentences, enough to recognise a
#: turn on the review page without reprinting a whole monologue.
QUOTE_CHARS = 160

#: Quotes per criterion: one is proof, three show a pattern; more buries it.
EVIDENCE_PER_CRITERION = 3

_SPACE = re.compile(r"\s+")


class Grader(StrEnum):
    """Who proposed the scores: the deterministic skill coder, or an LLM grader."""

    AUTOMATIC = "automatic"
    LLM = "llm"


@dataclass(frozen=True, slots=True)
class Evidence:
    seq: int
    quote: str


@dataclass(frozen=True, slots=True)
class CriterionResult:
    """A proposed score for one rubric criterion; the teacher confirms or overrides it."""

    name: str
    automatic_score: int
    rationale: str
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True, slots=True)
class Alternative:
    """What the student might have said instead at turn ``seq``, and why it helps."""

    seq: int
    text: str
    why: str


def quote_of(text: str, limit: int = QUOTE_CHARS) -> str:
    """The turn's words up to ``limit`` characters, cut at a word boundary.

    The result is always a substring of ``text`` with its spacing collapsed, so
    :func:`quote_in` accepts it; no ellipsis is added for the same reason.
    """
    flat = _SPACE.sub(" ", text).strip()
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    space = cut.rfind(" ")
    return cut[:space] if space > limit // 2 else cut


def quote_in(quote: str, text: str) -> bool:
    """Whether ``quote`` is a passage of ``text``, ignoring case, spacing and curly quotes."""
    wanted = _flat(quote)
    return bool(wanted) and wanted in _flat(text)


def _flat(text: str) -> str:
    return _SPACE.sub(" ", straight_quotes(text)).strip().casefold()
