"""Third person to first: the client says its own profile as "I".

Profiles and teachers' notes are written about the client ("Their father died
and they did not go to the funeral", "Referred by his GP"); the scripted client
says "My father died and I didn't go to the funeral", "I was referred by my GP".

* The client's name (full, first, "Mr Baker"), "the client" and the client's
  pronouns become I / me / my / myself, and the verb after a new "I" agrees
  ("she lives" -> "I live", "they are" -> "I am").
* Clauses with no subject get one (:mod:`llm.scripted_clauses`).

Pronouns of other people are left alone, except that "they" is the client's when
the client's pronouns are they/them: such profiles should not use "they" for
anyone else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from llm.base import Persona
from llm.scripted_clauses import Field, join_clauses, subject_clauses
from llm.scripted_lexicon import (
    ADVERBS,
    AGREEMENT,
    CLAUSE_BOUNDARIES,
    OBJECT_FOLLOWERS,
    base_form,
)
from llm.scripted_text import contract, sentence_case, sentences

PronounSet = Literal["he", "she", "they"]

_SELF = "SELF"
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_OWN: dict[PronounSet, dict[str, str]] = {
    "he": {"he": "I", "him": "me", "his": "my", "himself": "myself"},
    "she": {"she": "I", "hers": "mine", "herself": "myself"},
    "they": {
        "they": "I",
        "them": "me",
        "their": "my",
        "theirs": "mine",
        "themselves": "myself",
        "themself": "myself",
    },
}
_SUBJECT_SUFFIX = {"'s": "'m", "'re": "'m", "'ve": "'ve", "'d": "'d", "'ll": "'ll"}


@dataclass(frozen=True, slots=True)
class Referent:
    """Who "I" is: a pattern for the client's name and the client's pronouns."""

    names: re.Pattern[str]
    pronouns: PronounSet


def referent_of(persona: Persona) -> Referent:
    """The client's self-reference; pronouns from ``persona.pronouns``, else guessed from
    the profile (the most used of he / she / they), else they."""
    parts = [re.escape(part) for part in persona.name.split() if part[:1].isupper()]
    alternatives = [r"[Tt]he client"]
    if parts:
        alternatives.append(r"\s+".join(parts))
        alternatives.append(r"(?:Mr|Mrs|Ms|Miss|Mx|Dr)\.?\s+" + parts[-1])
        alternatives.append(parts[0])
    names = re.compile(r"\b(?:" + "|".join(alternatives) + r")\b('s)?")
    return Referent(names, _pronouns_of(persona))


def _pronouns_of(persona: Persona) -> PronounSet:
    declared = persona.pronouns.strip().lower()
    choices: tuple[PronounSet, ...] = ("they", "she", "he")
    for pronoun in choices:
        if re.match(rf"{pronoun}\b", declared):
            return pronoun
    text = " ".join(
        (persona.background, persona.presenting_problem, persona.goals, persona.personality)
    ).lower()
    counts = {
        "he": len(re.findall(r"\b(he|his|him)\b", text)),
        "she": len(re.findall(r"\b(she|her|hers)\b", text)),
        "they": len(re.findall(r"\b(they|their|them)\b", text)),
    }
    best = max(choices, key=lambda pronoun: counts[pronoun])
    return best if counts[best] else "they"


def first_person(text: str, who: Referent, field: Field = "fact") -> str:
    """``text`` as the client says it: each sentence in the first person, spoken."""
    return " ".join(first_person_lines(text, who, field))


def first_person_lines(text: str, who: Referent, field: Field) -> list[str]:
    """Like :func:`first_person`, one line per sentence (or ";" clause) of ``text``."""
    return [line for line, _ in first_person_parts(text, who, field)]


def first_person_parts(text: str, who: Referent, field: Field) -> list[tuple[str, tuple[str, ...]]]:
    """Each sentence of ``text`` in the first person, with its clauses as sentences of
    their own ("I'm a forklift driver, married" -> "I'm a forklift driver.", "I'm married.")."""
    out = []
    for sentence in sentences(text):
        marked = who.names.sub(lambda m: _SELF + ("'s" if m.group(1) else ""), sentence)
        clauses = subject_clauses(marked, field)
        line = _spoken(join_clauses(clauses), who.pronouns)
        if line:
            parts = tuple(_spoken(clause, who.pronouns) for clause in clauses)
            out.append((line, parts))
    return out


def _spoken(text: str, pronouns: PronounSet) -> str:
    return sentence_case(contract(re.sub(r"\s+", " ", replace_pronouns(text, pronouns))))


def replace_pronouns(text: str, pronouns: PronounSet) -> str:
    """``text`` with the client's name marker and pronouns as I / me / my, verbs agreeing."""
    own = _OWN[pronouns]
    matches = list(_WORD.finditer(text))
    out: list[str] = []
    position = 0
    subject: str | None = None  # "singular" or "they" while the verb of a new "I" is due
    previous = ""
    sentence_subject: str | None = None  # the client is the subject of this sentence
    for index, match in enumerate(matches):
        separator = text[position : match.start()]
        out.append(separator)
        position = match.end()
        token = match.group()
        lower = token.lower()
        following = matches[index + 1] if index + 1 < len(matches) else None
        next_word = following.group().lower() if following else ""
        gap = text[match.end() : following.start()] if following else "."
        sentence_start = index == 0 or any(mark in separator for mark in ".!?")
        clause_start = (
            sentence_start
            or any(mark in separator for mark in ",;:")
            or previous in CLAUSE_BOUNDARIES
        )
        stem, quote, rest = lower.partition("'")
        suffix = quote + rest
        replacement: str | None = None
        new_subject: str | None = None
        if token.startswith(_SELF):
            if suffix == "'s":
                replacement = "my"
            elif clause_start:
                replacement, new_subject = "I", "singular"
            else:
                replacement = "me"
        elif pronouns == "she" and lower == "her":
            as_object = next_word in OBJECT_FOLLOWERS or gap.strip() != ""
            replacement = "me" if as_object else "my"
        elif stem in own and (not suffix or own[stem] == "I"):
            replacement = own[stem]
            if replacement == "I":
                if suffix == "'s" and next_word in ("been", "got", "had"):
                    suffix = "'ve"
                replacement += _SUBJECT_SUFFIX.get(suffix, suffix)
                new_subject = "they" if pronouns == "they" else "singular"
        elif subject is not None and lower in ADVERBS:
            new_subject = subject
        elif subject is not None:
            replacement = _agree(lower, subject)
        elif sentence_subject and previous in ("and", "but", "or") and lower in AGREEMENT:
            replacement = _agree(lower, sentence_subject)  # "I lost it and hasn't said"
        previous = lower
        subject = new_subject
        if sentence_start:
            sentence_subject = None
        if new_subject is not None:
            sentence_subject = new_subject
        if replacement is None:
            out.append(token)
            continue
        if sentence_start and not replacement.startswith("I"):
            replacement = replacement[:1].upper() + replacement[1:]
        out.append(replacement)
    out.append(text[position:])
    return "".join(out)


def _agree(verb: str, subject: str) -> str | None:
    """The form of ``verb`` after a new "I" that replaced a ``subject`` pronoun."""
    if verb in AGREEMENT:
        return AGREEMENT[verb]
    if subject == "singular" and verb.endswith("s") and not verb.endswith(("ss", "us", "as")):
        return base_form(verb)
    return None
