"""Budget policy (pure): every rule about how much of a budget is spent, stated once.

A session has two budgets, tokens and active time. The rules:

* **Percent spent** is ``100 * spent / max(total, 1)``: 810 of 1,000 tokens is 81.0 %,
  2,700 of 3,600 s is 75.0 %. The ``max`` keeps a zero total from dividing by zero.
* **Warnings** fire at 80 % and 95 % of each budget (``WARNING_LEVELS``), each level
  once per session: a level is crossed when the percent spent reaches it (exactly
  800 of 1,000 tokens crosses 80). Extending a budget re-arms the levels the new total
  is back under: 960 of 1,000 tokens has warned at 80 and 95; extended to 2,000 it is
  at 48 %, so both may fire again.
* **Wind-down**: from 95 % of either budget (``WIND_DOWN_PERCENT``) the client is asked
  to bring the conversation to a close.
* **Out of tokens**: a session can go on while what is left pays for the next call's
  input plus a minimal reply: with 1,000 tokens, 950 used, a 20-token input and 30-token
  minimum it is not out (50 < 50 is false); one more input token and it is.

The Redis store runs the warning rule in ``settle.lua`` / ``extend.lua`` with the levels
passed in as arguments; the contract tests hold it to this module.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

    from realtime.timekeeping import ActiveClock

__all__ = [
    "WARNING_LEVELS",
    "WIND_DOWN_PERCENT",
    "levels_crossed",
    "out_of_tokens",
    "percent_spent",
    "time_percent",
    "winding_down",
]

# Percent of a budget at which the teacher and student are warned; each level warns
# once per session (and again after an extension takes the budget back under it).
# 80 leaves a fifth of the session to plan an ending; 95 is the last call.
WARNING_LEVELS: tuple[int, ...] = (80, 95)

# Past this share of either budget the client winds down: the last 5 % is enough for a
# closing exchange or two, but not for a new topic.
WIND_DOWN_PERCENT: int = 95


def percent_spent(spent: float, total: float) -> float:
    """``100 * spent / total``; a total under 1 counts as 1, so it never divides by 0."""
    return 100 * spent / max(total, 1)


def out_of_tokens(budget: int, used: int, next_input_tokens: int, min_reply_tokens: int) -> bool:
    """Can what is left (``budget - used``) no longer pay for the next call's input plus
    the shortest reply worth sending? With ``next_input_tokens=0`` this is the lower
    bound: a session it calls out of tokens is out for any next input."""
    return budget - used < next_input_tokens + min_reply_tokens


def levels_crossed(
    percent: float, already_warned: Collection[int], levels: Sequence[int] = WARNING_LEVELS
) -> tuple[int, ...]:
    """The ``levels`` that ``percent`` has reached and that have not warned yet, in the
    order given. The caller records them as warned."""
    return tuple(level for level in levels if percent >= level and level not in already_warned)


def winding_down(
    tokens_percent: float, time_percent: float, threshold: int = WIND_DOWN_PERCENT
) -> bool:
    """Has either budget reached ``threshold`` percent?"""
    return tokens_percent >= threshold or time_percent >= threshold


def time_percent(clock: ActiveClock, now: datetime) -> float:
    """Percent of the active-time limit used by ``now`` (paused time does not count)."""
    return percent_spent(clock.used(now), clock.limit_seconds)
