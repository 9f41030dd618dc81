"""How far a teacher agrees with the automatic grader, per rubric criterion.

Across the teacher's reviewed sessions, for each criterion: the share of
sessions where the teacher kept the automatic score, the mean absolute
difference in score points, and Cohen's kappa with linear weights over the
criterion's ordered level scale (Cohen 1968): a score one level off counts as
half a disagreement on a three-level scale, two levels off as a whole one.

    kappa_w = 1 - sum(w_ij * observed_ij) / sum(w_ij * expected_ij),
    w_ij = |i - j| / (k - 1) over the k levels' positions (not their scores).

Kappa is None, with the reason, when it is not defined: fewer than two
sessions, a one-level scale, or both graders always giving one same level.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from evaluation.transcript import Criterion

__all__ = [
    "Agreement",
    "ReviewedScore",
    "agreement_by_criterion",
    "criterion_agreement",
]

#: Fewest reviewed sessions for a kappa: with one pair chance agreement is undefined.
MIN_PAIRS = 2


@dataclass(frozen=True, slots=True)
class ReviewedScore:
    """One criterion of one reviewed session: the automatic score and the teacher's."""

    criterion: str
    automatic: int
    final: int


@dataclass(frozen=True, slots=True)
class Agreement:
    criterion: str
    n: int
    #: share of sessions where the teacher kept the automatic score.
    kept_share: float | None
    #: mean |final - automatic| in score points.
    mean_abs_difference: float | None
    kappa: float | None
    #: why ``kappa`` is None; "" when it is a number.
    kappa_note: str = ""


def criterion_agreement(
    criterion: str, pairs: Sequence[tuple[int, int]], scale: Sequence[int]
) -> Agreement:
    """Agreement on one criterion from ``(automatic, final)`` pairs; ``scale`` is its level
    scores. A score outside the scale (the rubric was edited since) joins it in order."""
    n = len(pairs)
    if n == 0:
        return Agreement(criterion, 0, None, None, None, "no reviewed sessions yet")
    kept = Fraction(sum(1 for a, f in pairs if a == f), n)
    difference = Fraction(sum(abs(a - f) for a, f in pairs), n)
    kappa, note = _linear_kappa(pairs, scale)
    return Agreement(criterion, n, float(kept), float(difference), kappa, note)


def agreement_by_criterion(
    reviews: Sequence[ReviewedScore], rubric: Sequence[Criterion]
) -> tuple[Agreement, ...]:
    """One :class:`Agreement` per rubric criterion, in the rubric's order; reviews of
    criteria not in the rubric are ignored (group reviews by rubric first)."""
    return tuple(
        criterion_agreement(
            criterion.name,
            [(r.automatic, r.final) for r in reviews if r.criterion == criterion.name],
            criterion.scores,
        )
        for criterion in rubric
    )


def _linear_kappa(
    pairs: Sequence[tuple[int, int]], scale: Sequence[int]
) -> tuple[float | None, str]:
    levels = sorted(set(scale) | {score for pair in pairs for score in pair})
    k, n = len(levels), len(pairs)
    if n < MIN_PAIRS:
        return None, f"needs at least {MIN_PAIRS} reviewed sessions"
    if k < 2:
        return None, "the scale has a single level"
    position = {score: i for i, score in enumerate(levels)}
    rows = [0] * k
    columns = [0] * k
    observed = Fraction(0)
    for automatic, final in pairs:
        i, j = position[automatic], position[final]
        rows[i] += 1
        columns[j] += 1
        observed += Fraction(abs(i - j), k - 1)
    expected = sum(
        (Fraction(abs(i - j), k - 1) * rows[i] * columns[j] for i in range(k) for j in range(k)),
        Fraction(0),
    )
    if expected == 0:
        return None, "both graders gave one and the same level every time"
    # observed is a sum over n pairs, expected over n * n cells of products of counts.
    return float(1 - (observed / n) / (expected / (n * n))), ""
