"""The trust rule: how one student turn moves the virtual client's trust (pure, no I/O).

The turn is coded by the same MITI coder as the session report (:func:`skills.code_turn`),
so what the report praises is what the client rewards. Trust runs from
:data:`TRUST_MIN` to :data:`TRUST_MAX` and starts at :data:`STARTING_TRUST` for the
profile's difficulty (1 easy to 5 hard; out-of-range values are clamped).

Each thing the turn does adds or takes away points; a turn can score several:

============================  ====  ========================================================
factor                        base  when
============================  ====  ========================================================
open question                   +2  the turn asks an open question (not a probe or a judgement)
simple reflection               +3  the turn's strongest reflection is simple
complex reflection              +6  ... or complex (it adds meaning: feeling, guess, value)
summary                         +2  a summary, on top of its complex reflection
empathy                         +4  sympathy or naming the client's feeling
affirmation                     +3  recognising the client's strength or effort
closed question streak          -3  the 3rd closed question in a row, and each one after
judgement                      -10  blaming, labelling, arguing, warning, sarcasm
advice without permission       -6  telling the client what to do, unasked
probing for secrets             -8  "what are you hiding?", "is there something you haven't
                                    told me?"
============================  ====  ========================================================

A closed question counts towards the streak when it is the turn's main behaviour and the
turn has no reflection; any other turn ends the streak. A probe or a judgement earns no
question points: the question is how it was delivered.

**Difficulty scales the steps**: gains are multiplied by :data:`GAIN_PERCENT`, losses by
:data:`LOSS_PERCENT`, rounded half up, never below 1 point. The resulting points:

==========================  ===  ===  ===  ===  ===
factor \\ difficulty          1    2    3    4    5
==========================  ===  ===  ===  ===  ===
starting trust               40   34   28   21   15
open question                +3   +3   +2   +2   +1
simple reflection            +5   +4   +3   +2   +2
complex reflection           +9   +8   +6   +5   +3
summary                      +3   +3   +2   +2   +1
empathy                      +6   +5   +4   +3   +2
affirmation                  +5   +4   +3   +2   +2
closed question streak       -2   -2   -3   -4   -5
judgement                    -5   -8  -10  -13  -15
advice without permission    -3   -5   -6   -8   -9
probing for secrets          -4   -6   -8  -10  -12
==========================  ===  ===  ===  ===  ===

So at difficulty 3 a complex, empathic reflection (+10) moves trust as much as a judgement
takes away, and three or four of them take a fact needing 50 from 28 to within reach; at
difficulty 5 it takes about seven, and one judgement costs three of them.
(``tests/realtime/unit/test_rt_clientstate.py`` checks this table against the constants.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from skills import Behaviour, QuestionKind, ReflectionKind, TurnCode

__all__ = [
    "BASE_POINTS",
    "CLOSED_STREAK_FROM",
    "DIFFICULTY_MAX",
    "DIFFICULTY_MIN",
    "GAIN_PERCENT",
    "LOSS_PERCENT",
    "STARTING_TRUST",
    "TRUST_MAX",
    "TRUST_MIN",
    "TrustFactor",
    "TrustReason",
    "clamp_difficulty",
    "clamp_trust",
    "is_closed_question",
    "points",
    "score",
]

TRUST_MIN = 0
TRUST_MAX = 100
DIFFICULTY_MIN = 1
DIFFICULTY_MAX = 5
#: Trust at the first turn. 40 at difficulty 1 is just below the default 50 a fact needs,
#: so a warm opening reaches it within a turn or two; 15 at difficulty 5 needs many.
STARTING_TRUST: Mapping[int, int] = {1: 40, 2: 34, 3: 28, 4: 21, 5: 15}
#: Harder clients warm more slowly (x0.5 at 5) and cool faster (x1.5 at 5); difficulty 3
#: is the base table.
GAIN_PERCENT: Mapping[int, int] = {1: 150, 2: 125, 3: 100, 4: 75, 5: 50}
LOSS_PERCENT: Mapping[int, int] = {1: 50, 2: 75, 3: 100, 4: 125, 5: 150}
#: Two closed questions in a row are ordinary ("Do you drink? Every day?"); from the
#: third the interview feels like an interrogation (MITI: closed questions dominate).
CLOSED_STREAK_FROM = 3


class TrustFactor(StrEnum):
    OPEN_QUESTION = "open question"
    SIMPLE_REFLECTION = "simple reflection"
    COMPLEX_REFLECTION = "complex reflection"
    SUMMARY = "summary"
    EMPATHY = "empathy"
    AFFIRMATION = "affirmation"
    CLOSED_STREAK = "closed question streak"
    JUDGEMENT = "judgement"
    ADVICE_WITHOUT_PERMISSION = "advice without permission"
    SECRET_PROBE = "probing for secrets"


#: Points at difficulty 3. Reflections weigh most (MITI's reflection-to-question ratio:
#: listening builds the alliance more than asking); a judgement undoes a complex, empathic
#: reflection; a probe for secrets costs more than unasked advice because it pushes at
#: exactly what the client is guarding.
BASE_POINTS: Mapping[TrustFactor, int] = {
    TrustFactor.OPEN_QUESTION: 2,
    TrustFactor.SIMPLE_REFLECTION: 3,
    TrustFactor.COMPLEX_REFLECTION: 6,
    TrustFactor.SUMMARY: 2,
    TrustFactor.EMPATHY: 4,
    TrustFactor.AFFIRMATION: 3,
    TrustFactor.CLOSED_STREAK: -3,
    TrustFactor.JUDGEMENT: -10,
    TrustFactor.ADVICE_WITHOUT_PERMISSION: -6,
    TrustFactor.SECRET_PROBE: -8,
}

_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
             "ninth", "tenth")  # fmt: skip


@dataclass(frozen=True, slots=True)
class TrustReason:
    """One thing the turn did and what it was worth at the session's difficulty."""

    factor: TrustFactor
    points: int
    #: For people: "complex reflection +6", "third closed question in a row -3".
    text: str


def clamp_difficulty(difficulty: int) -> int:
    return min(DIFFICULTY_MAX, max(DIFFICULTY_MIN, difficulty))


def clamp_trust(trust: int) -> int:
    return min(TRUST_MAX, max(TRUST_MIN, trust))


def points(factor: TrustFactor, difficulty: int) -> int:
    """``factor``'s points at ``difficulty`` (the second table in the module docstring)."""
    base = BASE_POINTS[factor]
    level = clamp_difficulty(difficulty)
    percent = GAIN_PERCENT[level] if base > 0 else LOSS_PERCENT[level]
    magnitude = max(1, (abs(base) * percent + 50) // 100)
    return magnitude if base > 0 else -magnitude


def is_closed_question(code: TurnCode) -> bool:
    """Whether the turn counts towards a closed-question streak."""
    return (
        code.behaviour is Behaviour.QUESTION
        and code.question is QuestionKind.CLOSED
        and code.reflection is None
    )


def score(code: TurnCode, *, difficulty: int, closed_streak: int) -> tuple[TrustReason, ...]:
    """What the coded turn is worth, in the table's order. ``closed_streak`` counts the
    closed questions in a row up to and including this turn (0 if it is not one)."""
    factors: list[TrustFactor] = []
    pushy = code.asks_about_secrets or code.judgement
    if code.question is QuestionKind.OPEN and not pushy:
        factors.append(TrustFactor.OPEN_QUESTION)
    if code.reflection is ReflectionKind.COMPLEX:
        factors.append(TrustFactor.COMPLEX_REFLECTION)
    elif code.reflection is ReflectionKind.SIMPLE:
        factors.append(TrustFactor.SIMPLE_REFLECTION)
    flagged = (
        (code.summary, TrustFactor.SUMMARY),
        (code.empathy, TrustFactor.EMPATHY),
        (code.affirmation, TrustFactor.AFFIRMATION),
        (closed_streak >= CLOSED_STREAK_FROM, TrustFactor.CLOSED_STREAK),
        (code.judgement, TrustFactor.JUDGEMENT),
        (code.advice_without_permission, TrustFactor.ADVICE_WITHOUT_PERMISSION),
        (code.asks_about_secrets, TrustFactor.SECRET_PROBE),
    )
    factors += [factor for present, factor in flagged if present]
    return tuple(_reason(f, points(f, difficulty), closed_streak) for f in factors)


def _reason(factor: TrustFactor, value: int, closed_streak: int) -> TrustReason:
    label = str(factor)
    if factor is TrustFactor.CLOSED_STREAK:
        label = f"{_ordinal(closed_streak)} closed question in a row"
    return TrustReason(factor, value, f"{label} {value:+d}")


def _ordinal(n: int) -> str:
    if 1 <= n <= len(_ORDINALS):
        return _ORDINALS[n - 1]
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
