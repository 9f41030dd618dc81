"""Teacher versus automatic grader: kept share, mean difference, linearly weighted kappa."""

from __future__ import annotations

import pytest

from evaluation import (
    Criterion,
    ReviewedScore,
    RubricLevel,
    agreement_by_criterion,
    criterion_agreement,
)


def table(counts: list[list[int]], scale: list[int]) -> list[tuple[int, int]]:
    """Pairs from a contingency table: rows automatic, columns the teacher's score."""
    return [
        (scale[i], scale[j])
        for i, row in enumerate(counts)
        for j, count in enumerate(row)
        for _ in range(count)
    ]


def test_kappa_of_a_3x3_table_matches_the_hand_computation() -> None:
    # n = 20, rows (automatic) 7/8/5, columns (teacher) 6/9/5, weights 0, 1/2, 1.
    # Observed disagreement: (2*1/2 + 1*1/2 + 1*1/2 + 1*1/2) / 20 = 2.5/20 = 1/8.
    # Expected: (1/2*7*9 + 7*5 + 1/2*8*6 + 1/2*8*5 + 5*6 + 1/2*5*9) / 400 = 163/400.
    # kappa = 1 - (1/8) / (163/400) = 1 - 50/163 = 113/163.
    pairs = table([[5, 2, 0], [1, 6, 1], [0, 1, 4]], [1, 2, 3])
    result = criterion_agreement("Empathy", pairs, [1, 2, 3])
    assert result.kappa == pytest.approx(113 / 163)
    assert result.n == 20
    assert result.kept_share == pytest.approx(15 / 20)
    assert result.mean_abs_difference == pytest.approx(5 / 20)
    assert result.kappa_note == ""


def test_weights_follow_the_level_positions_not_the_score_values() -> None:
    # The same table on a 0/5/10 scale: same kappa, differences in score points.
    pairs = table([[5, 2, 0], [1, 6, 1], [0, 1, 4]], [0, 5, 10])
    result = criterion_agreement("Empathy", pairs, [0, 5, 10])
    assert result.kappa == pytest.approx(113 / 163)
    assert result.mean_abs_difference == pytest.approx(25 / 20)


def test_a_2x2_table_gives_cohens_unweighted_kappa() -> None:
    # With two levels linear weights are the plain kappa: the textbook 20/15/10/5 table,
    # po = 0.7, pe = 0.5 * 0.6 + 0.5 * 0.4 = 0.5, kappa = 0.4.
    pairs = table([[20, 5], [10, 15]], [0, 1])
    assert criterion_agreement("X", pairs, [0, 1]).kappa == pytest.approx(0.4)


def test_perfect_and_opposite_agreement() -> None:
    assert criterion_agreement("X", [(1, 1), (2, 2), (3, 3)], [1, 2, 3]).kappa == 1.0
    opposite = criterion_agreement("X", [(1, 3), (3, 1)], [1, 2, 3])
    assert opposite.kappa == pytest.approx(-1.0)
    assert opposite.kept_share == 0.0


@pytest.mark.parametrize(
    ("pairs", "scale", "note"),
    [
        ([], [1, 2, 3], "no reviewed sessions yet"),
        ([(2, 3)], [1, 2, 3], "needs at least 2 reviewed sessions"),
        ([(1, 1), (1, 1)], [1], "the scale has a single level"),
        (
            [(2, 2), (2, 2), (2, 2)],
            [1, 2, 3],
            "both graders gave one and the same level every time",
        ),
    ],
)
def test_kappa_is_none_with_a_reason_when_undefined(
    pairs: list[tuple[int, int]], scale: list[int], note: str
) -> None:
    result = criterion_agreement("X", pairs, scale)
    assert result.kappa is None and result.kappa_note == note
    if pairs:
        assert result.kept_share is not None


def test_a_score_no_longer_on_the_scale_joins_it() -> None:
    result = criterion_agreement("X", [(1, 2), (2, 2), (3, 4)], [1, 2, 3])
    assert result.kappa is not None and result.kept_share == pytest.approx(1 / 3)


def test_agreement_per_criterion_in_rubric_order() -> None:
    rubric = (
        Criterion("Empathy", "", (RubricLevel(1, ""), RubricLevel(2, ""), RubricLevel(3, ""))),
        Criterion("Summaries", "", (RubricLevel(0, ""), RubricLevel(1, ""))),
    )
    reviews = [
        ReviewedScore("Summaries", 0, 1),
        ReviewedScore("Empathy", 2, 2),
        ReviewedScore("Empathy", 1, 2),
        ReviewedScore("Old criterion", 1, 1),
    ]
    empathy, summaries = agreement_by_criterion(reviews, rubric)
    assert (empathy.criterion, empathy.n, empathy.kept_share) == ("Empathy", 2, 0.5)
    assert empathy.mean_abs_difference == 0.5
    assert (summaries.n, summaries.kappa) == (1, None)
