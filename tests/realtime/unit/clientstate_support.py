"""Hidden facts and turn codes shared by the client-state tests."""

from __future__ import annotations

from dataclasses import replace

from llm.base import HiddenFact
from realtime.clientstate import ClientState, start
from skills import Behaviour, Flag, QuestionKind, ReflectionKind, Role, Turn, TurnCode

FATHER = HiddenFact(
    "Their father died four months ago",
    "My dad died in March and I haven't really dealt with it.",
    ("father", "funeral", "grief"),
    trust_needed=40,
)
POLICE = HiddenFact(
    "Was cautioned by police for drink-driving last year and has hidden it from their employer",
    "I got done for drink-driving last year. Work doesn't know.",
    ("police", "licence", "caution"),
    trust_needed=65,
)
CARE_HOME = HiddenFact("Is afraid her son will put her in a care home", topics=("care home",))
PLAIN = HiddenFact("Lost her job at the bakery in January")  # a profile's plain string


def code(
    behaviour: Behaviour = Behaviour.OTHER,
    question: QuestionKind | None = None,
    reflection: ReflectionKind | None = None,
    *flags: Flag,
) -> TurnCode:
    return TurnCode(behaviour, question, reflection, None, frozenset(flags), ())


NEUTRAL = code()
OPEN = code(Behaviour.QUESTION, QuestionKind.OPEN)
CLOSED = code(Behaviour.QUESTION, QuestionKind.CLOSED)
SIMPLE = code(Behaviour.REFLECTION, None, ReflectionKind.SIMPLE)
COMPLEX = code(Behaviour.REFLECTION, None, ReflectionKind.COMPLEX)
JUDGEMENT = code(Behaviour.OTHER, None, None, Flag.JUDGEMENT)
PROBE = code(Behaviour.QUESTION, QuestionKind.OPEN, None, Flag.ASKS_ABOUT_SECRETS)


def at(trust: int, *facts: HiddenFact, difficulty: int = 3) -> ClientState:
    """A fresh state for ``facts`` with trust set to ``trust``."""
    return replace(start(facts, difficulty=difficulty), trust=trust)


#: A first talk: father's fact unlocked and told by turn 5, then two closed questions.
TRANSCRIPT = [
    Turn(1, Role.CLIENT, "Hi. My GP sent me. I've been drinking a bit."),
    Turn(2, Role.STUDENT, "What's been going on for you lately?"),
    Turn(3, Role.CLIENT, "Things have been rough since the funeral."),
    Turn(4, Role.STUDENT, "I'm so sorry. It sounds like the funeral left you feeling alone."),
    Turn(5, Role.CLIENT, "Yeah. My dad died in March, and I haven't really dealt with it."),
    Turn(6, Role.STUDENT, "Do you drink every day?"),
    Turn(7, Role.CLIENT, "Most days."),
    Turn(8, Role.STUDENT, "Do you drive after?"),
]
