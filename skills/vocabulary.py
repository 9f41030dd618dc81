"""The one vocabulary of the skill coder: every code, flag and level is an enum here.

The names follow the MITI 4.2.1 behaviour counts (question, reflection, giving
information / advice, "other" for everything MITI leaves uncoded), so a coded
transcript can be compared with an expert-coded one label for label.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    STUDENT = "student"
    CLIENT = "client"


class Behaviour(StrEnum):
    """The main behaviour of an utterance (and, by the turn rule, of a turn)."""

    QUESTION = "question"
    REFLECTION = "reflection"
    INPUT = "input"
    OTHER = "other"


class QuestionKind(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ReflectionKind(StrEnum):
    SIMPLE = "simple"
    COMPLEX = "complex"


class InputKind(StrEnum):
    """What the student hands the client: facts, a suggestion, or a menu of them."""

    INFORMATION = "information"
    ADVICE_WITH_PERMISSION = "advice_with_permission"
    ADVICE_WITHOUT_PERMISSION = "advice_without_permission"
    OPTIONS = "options"


class Flag(StrEnum):
    """Marks that sit beside the main behaviour; a turn may carry any number of them.

    ``judgement`` covers MITI's persuade-without-permission and confront codes
    (blaming, labelling, arguing, warning, sarcasm); ``asks_about_secrets`` is a
    direct probe for what the client keeps hidden, which the trust scorer
    treats separately from ordinary curiosity.
    """

    AFFIRMATION = "affirmation"
    SUMMARY = "summary"
    EMPATHY = "empathy"
    JUDGEMENT = "judgement"
    ADVICE_WITHOUT_PERMISSION = "advice_without_permission"
    ASKS_ABOUT_SECRETS = "asks_about_secrets"


class Level(StrEnum):
    """Where a session metric sits against its fidelity threshold."""

    BELOW = "below"
    FAIR = "fair"
    GOOD = "good"
