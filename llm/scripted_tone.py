"""The client's tone for the next reply: its style and difficulty, as the teacher's
directions shift them.

Directions are free text ("be more irritable", "open up a bit", "get tearful");
the scripted client follows the simple ones by keyword. The latest direction
wins where two disagree; "less" / "not" / "stop being" before a keyword reads
as the opposite, which here means calmer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from llm.base import ConversationStyle, Persona


@dataclass(frozen=True, slots=True)
class Tone:
    style: ConversationStyle
    #: 1 (open) to 5 (very guarded), after the directions.
    difficulty: int
    #: A direction asked for tears: tails say so.
    tearful: bool = False


@dataclass(frozen=True, slots=True)
class _Rule:
    words: re.Pattern[str]
    style: ConversationStyle | None
    difficulty: int = 0
    tearful: bool = False


def _words(alternatives: str) -> re.Pattern[str]:
    return re.compile(r"\b(" + alternatives + r")")


_RULES = (
    _Rule(
        _words(
            r"irritab|irritated|angry|anger|annoyed|hostile|frustrat|impatient|short-tempered|"
            r"grumpy|snapp|rude|defensive|confrontational|aggressive|sarcas"
        ),
        "upset",
        +1,
    ),
    _Rule(
        _words(r"quiet|short answers|shorter|brief|withdraw|reserved|closed off|guarded|terse"),
        "reserved",
        +1,
    ),
    _Rule(_words(r"more detail|talk more|chatt|talkative|longer|verbose|rambl"), "verbose"),
    _Rule(_words(r"off topic|off-topic|tangent|distract|wander|change the subject"), "tangent"),
    _Rule(_words(r"agree|people-pleas|approval|eager|compliant|apologetic|please the"), "pleasing"),
    _Rule(
        _words(r"open up|more open|opens up|warm|trust|cooperat|friendl|relax|calm"), "plain", -2
    ),
    _Rule(_words(r"tear|cry|crying|sad|emotional|upset"), None, 0, True),
)
_NEGATION = re.compile(r"\b(less|not|no longer|stop being|don't be|do not be)\s+(\w+\s+)?$")


def tone_of(persona: Persona) -> Tone:
    """The style and difficulty for the next reply: the persona's, shifted by its directions."""
    style: ConversationStyle = persona.style
    difficulty = max(1, min(5, persona.difficulty))
    tearful = False
    for direction in persona.directions:
        text = direction.lower()
        for rule in _RULES:
            match = rule.words.search(text)
            if match is None:
                continue
            if _NEGATION.search(text[: match.start()]):
                difficulty -= 1  # "less irritable", "stop being so guarded": calmer
                if rule.style is not None and style == rule.style:
                    style = persona.style if persona.style != rule.style else "plain"
                continue
            if rule.style is not None:
                style = persona.style if rule.style == "plain" and _calm(persona) else rule.style
            difficulty += rule.difficulty
            tearful = tearful or rule.tearful
    return Tone(style, max(1, min(5, difficulty)), tearful)


def _calm(persona: Persona) -> bool:
    """Opening up keeps a calm style (verbose, tangent, pleasing) and calms the others."""
    return persona.style not in ("upset", "reserved")
