"""What the scripted client can say about itself: profile lines and unlocked facts.

The profile (presenting problem, background, goals, personality) is cut into
lines, each said in the first person; the lines most relevant to the student's
turn are found by word overlap. Hidden facts come only from the request: the app
puts a fact in ``persona.hidden_facts`` once it is unlocked, so a fact the
engine never sees can never be said.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from llm.base import HiddenFact, Persona
from llm.integrity import PROMPT_QUOTE_WORDS
from llm.integrity_facts import normalise as prompt_normalise
from llm.integrity_facts import words as prompt_words
from llm.persona import build_system_prompt
from llm.scripted_clauses import Field
from llm.scripted_moves import Move, StudentTurn
from llm.scripted_person import Referent, first_person, first_person_parts
from llm.scripted_text import content_stems, normalise, said_key, word_set, words

# Words in the student's turn that point at one part of the profile even when no
# content word overlaps ("What brings you here?" is about the presenting problem).
_CUES: dict[Field, frozenset[str]] = {
    "problem": word_set(
        "bring brings brought here problem wrong matter happening mood struggling struggle "
        "trouble come came today lately going"
    ),
    "background": word_set(
        "work job family live living home grow grew life friends partner children kids parents "
        "sister brother routine yourself background day evenings weekends"
    ),
    "goals": word_set(
        "want hope hoping change goal goals wish different future better expect help"
    ),
    "personality": word_set(
        "person describe personality character cope coping handle deal others friends people"
    ),
}
# With no overlap, an open question is answered from these parts first.
_DEFAULT_ORDER: tuple[Field, ...] = ("problem", "background", "goals", "personality")


@dataclass(frozen=True, slots=True)
class Line:
    """One thing the client can say about itself, in the first person."""

    field: Field
    text: str
    #: The line's clauses as sentences of their own, for short answers.
    parts: tuple[str, ...]
    stems: frozenset[str]
    order: int


def profile_lines(persona: Persona, who: Referent) -> list[Line]:
    """The profile as first-person lines, minus any that touch a topic the client avoids."""
    # Literal words: avoiding "their sister" is not avoiding all family talk.
    avoided = [content_stems(topic, aliases=False) for topic in persona.avoid]
    sources: tuple[tuple[Field, str], ...] = (
        ("problem", persona.presenting_problem),
        ("background", persona.background),
        ("goals", persona.goals),
        ("personality", persona.personality),
    )
    quotes = _prompt_spans(persona)
    lines: list[Line] = []
    for field, source in sources:
        for said, said_parts in first_person_parts(source, who, field):
            spoken, parts = _unquoted(said, quotes), tuple(_unquoted(p, quotes) for p in said_parts)
            stems = content_stems(spoken)
            if any(content_stems(spoken, aliases=False) & topic for topic in avoided if topic):
                continue
            lines.append(Line(field, spoken, parts, stems, len(lines)))
    return lines


# Spoken fillers that break a run of words copied from the profile ("..., you know, ...").
_FILLERS = ("you know", "I mean", "sort of", "like")
_BREAK_BEFORE = re.compile(
    r" (?=(after|for|because|since|when|with|to|in|at|and|but|so|from|about|on)\b)"
)


def _prompt_spans(persona: Persona) -> frozenset[tuple[str, ...]]:
    """Every run of words the persona checks call quoting the system prompt."""
    tokens = prompt_words(prompt_normalise(build_system_prompt(persona)))
    size = PROMPT_QUOTE_WORDS
    return frozenset(tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1))


def _quotes(text: str, spans: frozenset[tuple[str, ...]]) -> bool:
    tokens = prompt_words(prompt_normalise(text))
    size = PROMPT_QUOTE_WORDS
    return any(tuple(tokens[i : i + size]) in spans for i in range(len(tokens) - size + 1))


def _unquoted(text: str, spans: frozenset[tuple[str, ...]]) -> str:
    """``text`` with a spoken filler wherever it would repeat the profile word for word
    for :data:`llm.integrity.PROMPT_QUOTE_WORDS` words (the persona checks would flag it
    as quoting the prompt): "my GP for low mood, you know, after a back injury"."""
    for filler in _FILLERS:
        if not _quotes(text, spans):
            return text
        breaks = [m.start() for m in _BREAK_BEFORE.finditer(text)]
        cut = next(
            (at for at in breaks if not _quotes(f"{text[:at]}, {filler},{text[at:]}", spans)),
            breaks[len(breaks) // 2] if breaks else text.rfind(" ", 0, len(text) // 2),
        )
        if cut <= 0:
            return text
        text = f"{text[:cut]}, {filler},{text[cut:]}"
    return text


def ranked(lines: list[Line], turn: StudentTurn, said: frozenset[str]) -> list[Line]:
    """The lines worth saying in reply to ``turn``, best first.

    Lines sharing a content word with the turn come first (new ones, then ones
    already said, which the composer says as a callback); then lines from the part
    of the profile the turn points at (new, then said); then the rest (new, then
    said). The client's personality is left out unless the turn asks about it.
    """
    cues = set(words(normalise(turn.text)))
    scored: list[tuple[tuple[int, int, int, int], Line]] = []
    for line in lines:
        overlap = len(line.stems & turn.stems)
        cued = bool(cues & _CUES[line.field])
        fresh = said_key(line.text) not in said
        if not overlap and line.field == "personality" and not cued:
            continue
        tier = (0 if overlap else 2 if cued else 4) + (0 if fresh else 1)
        default = _DEFAULT_ORDER.index(line.field)
        scored.append(((tier, -overlap, default, line.order), line))
    return [line for _, line in sorted(scored, key=lambda item: item[0])]


def is_about(line: Line, turn: StudentTurn) -> bool:
    """Whether ``line`` answers ``turn``: a shared content word, or the part of the
    profile the turn points at ("What would you like to be different?": goals)."""
    return relevant(line, turn) or bool(set(words(normalise(turn.text))) & _CUES[line.field])


def relevant(line: Line, turn: StudentTurn) -> bool:
    """Whether ``line`` shares a content word with the student's turn."""
    return bool(line.stems & turn.stems)


def fact_text(fact: HiddenFact, who: Referent) -> str:
    """How the client says ``fact``: the teacher's first-person wording, else the note
    turned into the first person."""
    return fact.disclosure.strip() or first_person(fact.fact, who, "fact")


def open_facts(persona: Persona, who: Referent, said_text: str) -> list[tuple[HiddenFact, str]]:
    """Unlocked facts not yet told (by the app's count or in the client's own words)."""
    out = []
    for fact in persona.hidden_facts:
        text = fact_text(fact, who)
        if fact.disclosed or not text or said_key(text) in said_text:
            continue
        out.append((fact, text))
    return out


def touches(fact: HiddenFact, text: str, turn: StudentTurn) -> bool:
    """Whether the student's turn is about ``fact`` (its topics or its content words)."""
    topics = set().union(*(content_stems(topic) for topic in fact.topics)) if fact.topics else set()
    return bool(turn.stems & (topics | content_stems(text) | content_stems(fact.fact)))


# The moves after which an unlocked fact comes out; the others never carry one.
_CONFIDING: frozenset[Move] = frozenset({"reflection", "empathy", "open_question"})
_MAYBE_CONFIDING: frozenset[Move] = frozenset({"closed_question", "statement", "greeting"})


def fact_to_tell(
    facts: Iterable[tuple[HiddenFact, str]], turn: StudentTurn, difficulty: int
) -> str | None:
    """The one fact to tell in reply to ``turn``, preferring one the turn touches.

    Reflections, empathy and open questions (or a warm turn) bring a fact out; a
    closed question or a statement does when it touches the fact or the client is
    easy to reach (difficulty 1-2); at difficulty 4-5 an open question alone needs
    to touch the fact. Probes, role-breaks, judgement, advice and goodbyes never do.
    """
    candidates = list(facts)
    touching = [text for fact, text in candidates if touches(fact, text, turn)]
    first = touching[0] if touching else (candidates[0][1] if candidates else None)
    if first is None:
        return None
    warm = turn.warm or turn.move in ("reflection", "empathy")
    if turn.move in _CONFIDING:
        if difficulty >= 4 and turn.move == "open_question" and not warm and not touching:
            return None
        return first
    if turn.move in _MAYBE_CONFIDING and (touching or difficulty <= 2 or warm):
        return first
    return None
