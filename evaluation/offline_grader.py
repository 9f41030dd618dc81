"""The automatic grader: skill metrics and fact coverage mapped onto the teacher's rubric.

Each criterion is matched, by the words of its name (else its description), to
one metric family; the family's fidelity level (below / fair / good, from
:mod:`skills.metrics` and :mod:`evaluation.coverage`) picks the criterion's
lowest / middle / highest score. The rationale says it is automatic and gives
the figures; the evidence quotes 1 to 3 of the turns the metric counted.

The middle of an even scale is its lower middle (of 1-4, 2): an automatic
score errs low, since the teacher confirms or raises it before release.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from evaluation.coverage import FactCoverage, coverage_metric
from evaluation.results import EVIDENCE_PER_CRITERION, CriterionResult, Evidence, quote_of
from evaluation.transcript import Criterion, Turn
from skills import CodedTurn, InputKind, Level, Metric, Role, SessionMetrics, Threshold

__all__ = [
    "ADVICE_SLIPS_FAIR",
    "SUMMARY_COUNT",
    "Family",
    "family_of",
    "grade_offline",
    "score_for",
]

#: Summaries in a session: one (usually at the close) is what courses ask as a
#: minimum; a second one mid-way, to check understanding, is good practice.
SUMMARY_COUNT = Threshold(fair=1, good=2)
#: Advice without permission plus judgements: none is good, one slip is fair
#: (MITI 4.2.1 codes each as MI-non-adherent; one in a training interview is common).
ADVICE_SLIPS_FAIR = 1
AUTOMATIC_NOTE = "Automatic rating from the skill coder, to be confirmed by your teacher."

_RANK = {Level.BELOW: 0, Level.FAIR: 1, Level.GOOD: 2}


class Family(StrEnum):
    EMPATHY = "empathy"
    QUESTIONS = "questions"
    EXPLORATION = "exploration"
    STRUCTURE = "structure"
    AUTONOMY = "autonomy"
    OVERALL = "overall"


# Word starts, matched at word boundaries; the earliest match in the text wins, so
# "Reflective listening and open questions" is empathy and "Open questions and
# reflections" is questions. Absent on purpose: "close" ("closed questions") and
# "ask" ("asks permission before advising" is autonomy).
_KEYWORDS: dict[Family, tuple[str, ...]] = {
    Family.EMPATHY: ("empath", "reflect", "listen", "rapport", "understand", "warmth", "validat"),
    Family.QUESTIONS: ("question", "open", "inquir", "enquir"),
    Family.EXPLORATION: ("explor", "disclos", "hidden", "uncover", "assess", "depth"),
    Family.STRUCTURE: ("structur", "summar", "closing", "agenda", "organi", "flow"),
    Family.AUTONOMY: ("advi", "autonom", "permission", "directive", "persua", "righting"),
}
_PATTERNS = {
    family: re.compile(r"\b(" + "|".join(words) + ")", re.IGNORECASE)
    for family, words in _KEYWORDS.items()
}


@dataclass(frozen=True, slots=True)
class _Finding:
    level: Level
    figures: str
    strengths: tuple[int, ...]
    gaps: tuple[int, ...]


def family_of(criterion: Criterion) -> Family:
    """The metric family a criterion is about, by its name first, then its description."""
    for text in (criterion.name, criterion.description):
        hits = [(m.start(), f) for f, p in _PATTERNS.items() if (m := p.search(text))]
        if hits:
            return min(hits, key=lambda hit: hit[0])[1]
    return Family.OVERALL


def score_for(criterion: Criterion, level: Level) -> int:
    """Below -> the lowest score, good -> the highest, fair -> the (lower) middle one."""
    scores = criterion.scores
    if level is Level.GOOD:
        return scores[-1]
    return scores[(len(scores) - 1) // 2] if level is Level.FAIR else scores[0]


def grade_offline(
    turns: Sequence[Turn],
    coded: Sequence[CodedTurn],
    rubric: Sequence[Criterion],
    metrics: SessionMetrics,
    coverage: Sequence[FactCoverage],
) -> tuple[CriterionResult, ...]:
    """One result per criterion, in the rubric's order; evidence seqs are turns of ``turns``."""
    texts = {t.seq: t.text for t in turns}
    session = _Session(turns, coded, metrics, coverage)
    results = []
    for criterion in rubric:
        finding = _FINDERS[family_of(criterion)](session)
        score = score_for(criterion, finding.level)
        descriptor = criterion.descriptor(score)
        level_words = f"Level {finding.level.value}, so score {score}"
        if descriptor:
            level_words += f" ({descriptor})"
        rationale = f"{AUTOMATIC_NOTE} {finding.figures} {level_words}."
        evidence = _evidence(finding, texts)
        results.append(CriterionResult(criterion.name, score, rationale, evidence))
    return tuple(results)


@dataclass(frozen=True, slots=True)
class _Session:
    turns: Sequence[Turn]
    coded: Sequence[CodedTurn]
    metrics: SessionMetrics
    coverage: Sequence[FactCoverage]


def _empathy(s: _Session) -> _Finding:
    m = s.metrics
    reflections, questions = _n(m.reflections), _n(m.questions)
    figures = f"{_count(reflections, 'reflection')} for {_count(questions, 'question')}"
    if m.reflection_to_question.value is not None:
        figures += f" (ratio {m.reflection_to_question.value:.1f}; fair from 1.0, good from 2.0)"
    if reflections:
        figures += (
            f"; {_n(m.complex_reflections)} of them complex "
            f"({_share(m.complex_reflection_share)}; fair from 40%, good from 50%)"
        )
    rated = [x for x in (m.reflection_to_question.level, m.complex_reflection_share.level) if x]
    level = min(rated, key=_RANK.__getitem__) if rated and reflections else Level.BELOW
    strengths = m.complex_reflections.seqs + m.simple_reflections.seqs
    questions_seqs = m.closed_questions.seqs + m.open_questions.seqs
    return _Finding(level, figures + ".", strengths, questions_seqs)


def _questions(s: _Session) -> _Finding:
    m = s.metrics
    share = m.open_question_share
    figures = (
        f"{_n(m.open_questions)} of {_count(_n(m.questions), 'question')} were open "
        f"({_share(share)}; fair from 50%, good from 70%)."
        if share.value is not None
        else "No questions were asked."
    )
    level = share.level or Level.BELOW
    return _Finding(level, figures, m.open_questions.seqs, m.closed_questions.seqs)


def _structure(s: _Session) -> _Finding:
    summaries = _n(s.metrics.summaries)
    figures = f"{_count(summaries, 'summary', 'summaries')} (fair from 1, good from 2)."
    # With no summary, the evidence is the student's last turn: where one fits best.
    last = tuple([t.seq for t in s.turns if t.role is Role.STUDENT][-1:])
    return _Finding(SUMMARY_COUNT.level(summaries), figures, s.metrics.summaries.seqs, last)


def _autonomy(s: _Session) -> _Finding:
    advice = s.metrics.advice_without_permission
    judged = tuple(c.seq for c in s.coded if c.code.judgement)
    slips = _n(advice) + len(judged)
    figures = (
        f"{_count(_n(advice), 'piece')} of advice without permission "
        f"and {_count(len(judged), 'judgement')} (good: none; fair: one)."
    )
    invited = tuple(
        c.seq
        for c in s.coded
        if any(u.input is InputKind.ADVICE_WITH_PERMISSION for u in c.code.utterances)
    )
    gaps = tuple(sorted(set(advice.seqs) | set(judged)))
    level = Level.GOOD if slips == 0 else Level.FAIR
    level = level if slips <= ADVICE_SLIPS_FAIR else Level.BELOW
    return _Finding(level, figures, invited, gaps)


def _exploration(s: _Session) -> _Finding:
    coverage = s.coverage
    if not coverage:
        overall = _overall(s)
        note = "The profile has no hidden facts, so this is rated on the overall composite: "
        return _Finding(overall.level, note + overall.figures, overall.strengths, overall.gaps)
    share = coverage_metric(coverage)
    disclosed = [c for c in coverage if c.disclosed_seq is not None]
    figures = (
        f"{len(disclosed)} of {_count(len(coverage), 'hidden fact')} came out "
        f"({_share(share)}; fair from 50%, good from 75%)."
    )
    missed = next((c for c in coverage if c.disclosed_seq is None), None)
    if missed is not None:
        figures += f" Not reached: {missed.fact.rstrip('.')}. {missed.suggestion}"
    # The student turn that reached each fact, else (none before it) the disclosing reply.
    reached = tuple(
        c.reached_by if c.reached_by is not None else seq
        for c in disclosed
        if (seq := c.disclosed_seq) is not None
    )
    gaps = tuple(seq for c in coverage if c.disclosed_seq is None for seq in c.seqs)
    return _Finding(share.level or Level.BELOW, figures, reached, gaps)


def _overall(s: _Session) -> _Finding:
    metrics = s.metrics
    parts = (
        ("reflection-to-question ratio", metrics.reflection_to_question),
        ("complex reflections", metrics.complex_reflection_share),
        ("open questions", metrics.open_question_share),
    )
    rated = [(name, metric.level) for name, metric in parts if metric.level is not None]
    strengths = metrics.complex_reflections.seqs + metrics.open_questions.seqs
    gaps = metrics.closed_questions.seqs + metrics.advice_without_permission.seqs
    if not rated:
        return _Finding(Level.BELOW, "Too few questions and reflections to rate.", (), gaps)
    # The mean rank, rounded half down: an automatic composite errs low.
    mean = Fraction(sum(_RANK[level] for _, level in rated), len(rated))
    rank = math.ceil(mean - Fraction(1, 2))
    level = next(level for level, r in _RANK.items() if r == rank)
    figures = "Overall composite: " + ", ".join(f"{name} {lvl.value}" for name, lvl in rated) + "."
    return _Finding(level, figures, strengths, gaps)


_FINDERS: dict[Family, Callable[[_Session], _Finding]] = {
    Family.EMPATHY: _empathy,
    Family.QUESTIONS: _questions,
    Family.EXPLORATION: _exploration,
    Family.STRUCTURE: _structure,
    Family.AUTONOMY: _autonomy,
    Family.OVERALL: _overall,
}


def _evidence(finding: _Finding, texts: dict[int, str]) -> tuple[Evidence, ...]:
    """Strengths when good; two strengths and a gap when fair; two gaps and a strength
    when below. Topped up from either list, each turn once, only turns that exist and
    have words to quote."""
    strengths, gaps = finding.strengths, finding.gaps
    if finding.level is Level.GOOD:
        order = strengths + gaps
    elif finding.level is Level.FAIR:
        order = strengths[:2] + gaps[:1] + strengths[2:] + gaps[1:]
    else:
        order = gaps[:2] + strengths[:1] + gaps[2:] + strengths[1:]
    chosen: list[int] = []
    for seq in order:
        if seq in texts and texts[seq].strip() and seq not in chosen:
            chosen.append(seq)
    return tuple(Evidence(seq, quote_of(texts[seq])) for seq in chosen[:EVIDENCE_PER_CRITERION])


def _n(metric: Metric) -> int:
    return int(metric.value or 0)


def _share(metric: Metric) -> str:
    return "n/a" if metric.value is None else f"{metric.value:.0%}"


def _count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
