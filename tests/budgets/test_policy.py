"""The budget policy (pure): percent spent, warning levels, wind-down, out of tokens.

The stores' side of the same rules (levels passed into the Lua scripts) is in
``test_store_contract.py``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from importlib import resources

from realtime.budgets import Ledger
from realtime.budgets.policy import (
    WARNING_LEVELS,
    WIND_DOWN_PERCENT,
    levels_crossed,
    out_of_tokens,
    percent_spent,
    time_percent,
    winding_down,
)
from realtime.timekeeping import ActiveClock

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def test_the_levels() -> None:
    assert WARNING_LEVELS == (80, 95)
    assert WIND_DOWN_PERCENT == 95


def test_percent_spent() -> None:
    assert percent_spent(810, 1000) == 81.0
    assert percent_spent(800, 1000) == 80.0  # exact: crossing "at 80 %" is not rounding luck
    assert percent_spent(2700.0, 3600) == 75.0
    assert percent_spent(1200, 1000) == 120.0


def test_percent_of_a_zero_total_does_not_divide_by_zero() -> None:
    assert percent_spent(0, 0) == 0.0
    assert percent_spent(3, 0) == 300.0
    assert percent_spent(1, 0.5) == 100.0  # a total under 1 counts as 1


def test_out_of_tokens_boundary() -> None:
    # 50 left pays for exactly 20 in + 30 out; one token more is too much.
    assert not out_of_tokens(1000, 950, next_input_tokens=20, min_reply_tokens=30)
    assert out_of_tokens(1000, 950, next_input_tokens=21, min_reply_tokens=30)
    assert not out_of_tokens(1000, 950, next_input_tokens=0, min_reply_tokens=50)
    assert out_of_tokens(1000, 951, next_input_tokens=0, min_reply_tokens=50)
    assert out_of_tokens(1000, 1000, 0, 1)
    assert not out_of_tokens(1000, 1000, 0, 0)


def test_out_of_tokens_with_no_input_is_the_lower_bound() -> None:
    """What the watchdog asks (input 0) is out only if every next call would be."""
    for used in range(900, 1001):
        if out_of_tokens(1000, used, 0, 50):
            assert all(out_of_tokens(1000, used, n, 50) for n in range(0, 200))


def test_a_level_is_crossed_from_exactly_its_percent() -> None:
    assert levels_crossed(79.99, ()) == ()
    assert levels_crossed(80.0, ()) == (80,)
    assert levels_crossed(94.99, ()) == (80,)
    assert levels_crossed(95.0, ()) == (80, 95)
    assert levels_crossed(percent_spent(800, 1000), ()) == (80,)
    assert levels_crossed(percent_spent(799, 1000), ()) == ()


def test_a_level_warns_once() -> None:
    assert levels_crossed(96.0, already_warned={80}) == (95,)
    assert levels_crossed(96.0, already_warned=(80, 95)) == ()
    assert levels_crossed(50.0, already_warned={80}) == ()


def test_levels_are_any_number_in_the_order_given() -> None:
    assert levels_crossed(60.0, (), levels=(50,)) == (50,)
    assert levels_crossed(100.0, {25}, levels=(90, 25, 50)) == (90, 50)
    assert levels_crossed(100.0, (), levels=()) == ()


def test_winding_down_from_95_percent_of_either_budget() -> None:
    assert not winding_down(94.9, 94.9)
    assert winding_down(95.0, 0.0)
    assert winding_down(0.0, 95.0)
    assert winding_down(percent_spent(950, 1000), 10.0)
    assert not winding_down(85.0, 85.0, threshold=90)
    assert winding_down(90.0, 0.0, threshold=90)


def test_time_percent_counts_active_time_only() -> None:
    running = ActiveClock(3600, banked_seconds=1800, active_since=NOW - timedelta(seconds=900))
    assert time_percent(running, NOW) == 75.0
    paused = ActiveClock(3600, banked_seconds=1800, active_since=None)
    assert time_percent(paused, NOW + timedelta(hours=5)) == 50.0
    at_80 = ActiveClock(600, banked_seconds=0, active_since=NOW - timedelta(seconds=480))
    assert levels_crossed(time_percent(at_80, NOW), ()) == (80,)


def test_time_percent_of_a_zero_limit() -> None:
    clock = ActiveClock(0, banked_seconds=0, active_since=NOW)
    assert time_percent(clock, NOW) == 0.0


def test_ledger_warns_from_exactly_80_percent() -> None:
    ledger = Ledger(budget=1000)
    ledger.reserve("a", 0, 900, 1, 0, 60)
    assert ledger.settle("a", 0, 799).crossed == ()
    ledger.reserve("b", 0, 900, 1, 0, 60)
    assert ledger.settle("b", 0, 1).crossed == (80,)


def test_extension_rearms_only_the_levels_left_behind() -> None:
    ledger = Ledger(budget=1000, used=960, warned={80, 95})
    ledger.extend(100)  # 960 of 1,100: 87.3 %, so 95 may fire again, 80 may not
    assert ledger.warned == {80}
    ledger.reserve("a", 0, 100, 1, 0, 60)
    assert ledger.settle("a", 0, 85).crossed == (95,)  # 1,045 of 1,100 = 95 % exactly


def test_extension_to_exactly_a_level_keeps_it_warned() -> None:
    ledger = Ledger(budget=1000, used=950, warned={80, 95})
    ledger.extend(50)  # 950 of 1,050: 90.5 %
    assert ledger.warned == {80}
    ledger = Ledger(budget=760, used=760, warned={80, 95})
    ledger.extend(190)  # 760 of 950: exactly 80 %
    assert ledger.warned == {80}


def test_ledger_with_its_own_levels() -> None:
    ledger = Ledger(budget=100, levels=(10, 20))
    ledger.reserve("a", 0, 100, 1, 0, 60)
    assert ledger.settle("a", 0, 25).crossed == (10, 20)


def test_no_lua_script_spells_a_level() -> None:
    """The levels reach the scripts as arguments (policy.WARNING_LEVELS)."""
    scripts = [f for f in resources.files("realtime.budgets").iterdir() if f.name.endswith(".lua")]
    assert scripts
    for script in scripts:
        code = "\n".join(line.split("--")[0] for line in script.read_text("utf-8").splitlines())
        for level in (*WARNING_LEVELS, WIND_DOWN_PERCENT):
            assert not re.search(rf"\b{level}\b", code), (script.name, level)
