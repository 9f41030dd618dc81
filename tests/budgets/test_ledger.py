"""The pure ledger: reserve / settle / decide."""

from __future__ import annotations

from realtime.budgets import Ledger, Refused, Reserved


def test_reserve_lowers_max_tokens_to_what_is_left() -> None:
    ledger = Ledger(budget=1000, used=700)
    hold = ledger.reserve(
        "r1", input_tokens=200, max_tokens=500, min_reply_tokens=20, now=0, ttl=60
    )
    assert hold == Reserved("r1", 300, 100, used=700, budget=1000)
    assert ledger.available() == 0


def test_refuses_when_not_even_a_short_reply_fits() -> None:
    ledger = Ledger(budget=1000, used=900)
    assert ledger.reserve("r1", 90, 500, 20, 0, 60) == Refused("budget_exhausted", 100)
    assert ledger.reserved == 0


def test_settle_charges_real_usage_and_releases_rest() -> None:
    ledger = Ledger(budget=1000)
    ledger.reserve("r1", 100, 400, 20, 0, 60)
    settled = ledger.settle("r1", 100, 50)
    assert (settled.charged, settled.used, ledger.reserved) == (150, 150, 0)


def test_settle_never_charges_beyond_the_hold() -> None:
    ledger = Ledger(budget=1000, used=800)
    ledger.reserve("r1", 100, 500, 20, 0, 60)  # holds 200
    settled = ledger.settle("r1", 150, 120)  # the estimate was low
    assert (settled.charged, settled.uncharged, ledger.used) == (200, 70, 1000)


def test_warnings_cross_once() -> None:
    ledger = Ledger(budget=1000)
    ledger.reserve("a", 0, 900, 1, 0, 60)
    assert ledger.settle("a", 0, 810).crossed == (80,)
    ledger.reserve("b", 0, 150, 1, 0, 60)
    assert ledger.settle("b", 0, 150).crossed == (95,)
    ledger.reserve("c", 0, 40, 1, 0, 60)
    assert ledger.settle("c", 0, 10).crossed == ()


def test_expired_holds_are_reclaimed() -> None:
    ledger = Ledger(budget=1000)
    ledger.reserve("dead-worker", 100, 900, 20, now=0, ttl=30)
    assert ledger.available() == 0
    assert isinstance(ledger.reserve("r2", 100, 100, 20, now=31, ttl=30), Reserved)
    assert "dead-worker" not in ledger.holds


def test_exhausted_decision() -> None:
    ledger = Ledger(budget=1000, used=950)
    assert not ledger.exhausted(next_input_tokens=20, min_reply_tokens=30)
    assert ledger.exhausted(next_input_tokens=21, min_reply_tokens=30)


def test_extend_rearms_warnings() -> None:
    ledger = Ledger(budget=100, used=96, warned={80, 95})
    ledger.extend(100)
    assert ledger.warned == set()
