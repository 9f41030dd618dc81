"""Session metrics from a coded transcript, beside the usual fidelity thresholds.

Counts are of utterances (a turn's stacked questions count once, a reflection
followed by a question counts one of each; see :mod:`skills.coding`), as MITI
4.2.1 counts behaviours. Every metric names the ``seq`` of each turn it drew
on, in transcript order, so a teacher's report can link back to the turns.

Thresholds (value at or above ``fair`` is fair, at or above ``good`` is good):

* reflection-to-question ratio: 1.0 fair, 2.0 good (MITI 4.2.1);
* complex share of reflections: 40% fair, 50% good (MITI 4.2.1);
* open share of questions: 50% fair, 70% good (MITI 3.1.1; dropped from
  MITI 4, still the benchmark most training courses quote).

A ratio or share whose denominator is zero has value None and level None.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from skills.coding import CodedTurn, Turn, code_transcript
from skills.utterance import UtteranceCode
from skills.vocabulary import Behaviour, Flag, InputKind, Level, QuestionKind, ReflectionKind, Role

_WORD = re.compile(r"[A-Za-z0-9]+(?:['\u2019][A-Za-z]+)*")


@dataclass(frozen=True, slots=True)
class Threshold:
    fair: float
    good: float

    def level(self, value: float) -> Level:
        if value >= self.good:
            return Level.GOOD
        return Level.FAIR if value >= self.fair else Level.BELOW


REFLECTION_TO_QUESTION = Threshold(fair=1.0, good=2.0)
COMPLEX_REFLECTION_SHARE = Threshold(fair=0.40, good=0.50)
OPEN_QUESTION_SHARE = Threshold(fair=0.50, good=0.70)


@dataclass(frozen=True, slots=True)
class Metric:
    """A count, share or ratio; ``seqs`` are the turns it counted, in order
    (for a share or ratio, the turns in its numerator or denominator)."""

    value: float | None
    seqs: tuple[int, ...]
    threshold: Threshold | None = None
    level: Level | None = None


@dataclass(frozen=True, slots=True)
class SessionMetrics:
    questions: Metric
    open_questions: Metric
    closed_questions: Metric
    open_question_share: Metric
    reflections: Metric
    simple_reflections: Metric
    complex_reflections: Metric
    complex_reflection_share: Metric
    reflection_to_question: Metric
    affirmations: Metric
    summaries: Metric
    advice_without_permission: Metric
    #: student words / all words, both speakers; seqs are the student turns.
    student_talk_share: Metric
    #: the most student words with no client turn between them (one or more
    #: consecutive student turns); seqs are that run's turns.
    longest_monologue: Metric

    def as_dict(self) -> dict[str, dict[str, object]]:
        """Plain JSON-ready data: enums as their values, tuples as lists."""
        return {name: _metric_dict(metric) for name, metric in _fields(self)}


def session_metrics(
    turns: Sequence[Turn], coded: Sequence[CodedTurn] | None = None
) -> SessionMetrics:
    """Metrics for one session; ``coded`` defaults to :func:`code_transcript` of ``turns``."""
    coded = code_transcript(turns) if coded is None else coded

    def count(matches: Callable[[UtteranceCode], bool]) -> tuple[int, tuple[int, ...]]:
        hits = [(c.seq, sum(1 for u in c.code.utterances if matches(u))) for c in coded]
        return sum(n for _, n in hits), tuple(seq for seq, n in hits if n)

    def counted(matches: Callable[[UtteranceCode], bool]) -> Metric:
        total, seqs = count(matches)
        return Metric(total, seqs)

    def rated(
        part: Callable[[UtteranceCode], bool],
        whole: Callable[[UtteranceCode], bool],
        threshold: Threshold,
    ) -> Metric:
        numerator, _ = count(part)
        denominator, _ = count(whole)
        _, seqs = count(lambda u: part(u) or whole(u))
        if denominator == 0:
            return Metric(None, seqs, threshold)
        value = numerator / denominator
        return Metric(value, seqs, threshold, threshold.level(value))

    def is_question(u: UtteranceCode) -> bool:
        return u.behaviour is Behaviour.QUESTION

    def is_reflection(u: UtteranceCode) -> bool:
        return u.behaviour is Behaviour.REFLECTION

    def is_open(u: UtteranceCode) -> bool:
        return is_question(u) and u.question is QuestionKind.OPEN

    def is_complex(u: UtteranceCode) -> bool:
        return is_reflection(u) and u.reflection is ReflectionKind.COMPLEX

    return SessionMetrics(
        questions=counted(is_question),
        open_questions=counted(is_open),
        closed_questions=counted(lambda u: is_question(u) and u.question is QuestionKind.CLOSED),
        open_question_share=rated(is_open, is_question, OPEN_QUESTION_SHARE),
        reflections=counted(is_reflection),
        simple_reflections=counted(
            lambda u: is_reflection(u) and u.reflection is ReflectionKind.SIMPLE
        ),
        complex_reflections=counted(is_complex),
        complex_reflection_share=rated(is_complex, is_reflection, COMPLEX_REFLECTION_SHARE),
        reflection_to_question=rated(is_reflection, is_question, REFLECTION_TO_QUESTION),
        affirmations=counted(lambda u: Flag.AFFIRMATION in u.flags),
        summaries=counted(lambda u: Flag.SUMMARY in u.flags),
        advice_without_permission=counted(lambda u: u.input is InputKind.ADVICE_WITHOUT_PERMISSION),
        student_talk_share=_talk_share(turns),
        longest_monologue=_longest_monologue(turns),
    )


def word_count(text: str) -> int:
    """Words as a reader counts them: "don't" is one word, "mm-hm" two."""
    return len(_WORD.findall(text))


def _talk_share(turns: Sequence[Turn]) -> Metric:
    student = [t for t in turns if t.role is Role.STUDENT]
    total = sum(word_count(t.text) for t in turns)
    if total == 0:
        return Metric(None, tuple(t.seq for t in student))
    return Metric(sum(word_count(t.text) for t in student) / total, tuple(t.seq for t in student))


def _longest_monologue(turns: Sequence[Turn]) -> Metric:
    best_words, run_words = 0, 0
    best_seqs: tuple[int, ...] = ()
    run_seqs: list[int] = []
    for turn in turns:
        if turn.role is Role.STUDENT:
            run_words += word_count(turn.text)
            run_seqs.append(turn.seq)
            if run_words > best_words:
                best_words, best_seqs = run_words, tuple(run_seqs)
        else:
            run_words, run_seqs = 0, []
    return Metric(best_words, best_seqs)


def _fields(metrics: SessionMetrics) -> list[tuple[str, Metric]]:
    return [(name, getattr(metrics, name)) for name in SessionMetrics.__dataclass_fields__]


def _metric_dict(metric: Metric) -> dict[str, object]:
    data = asdict(metric)
    data["seqs"] = list(metric.seqs)
    data["level"] = metric.level.value if metric.level is not None else None
    return data
