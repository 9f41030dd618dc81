"""Give a subject to profile notes that have none.

"Warehouse shift lead, recently moved to the city for work" has no subject; the
client says "I'm a warehouse shift lead and I recently moved to the city for
work". A note is cut at its commas into fragments, each fragment gets "I" in the
form its first word asks for, and the fragments are joined again. Notes that
already have a subject pass through unchanged; the pronouns are the business of
:mod:`llm.scripted_person`.
"""

from __future__ import annotations

import re
from typing import Literal

from llm.scripted_lexicon import (
    ADJECTIVE_SUFFIXES,
    ADVERBS,
    AGREEMENT,
    AUXILIARIES,
    CONTINUATIONS,
    DETERMINERS,
    GOAL_NOUNS,
    IRREGULAR_PAST,
    KIN,
    NOT_ROLES,
    NUMBERS,
    PASSIVE,
    ROLE_SUFFIXES,
    ROLES,
    STATES,
    SUBJECTS,
    VERBS,
    base_form,
    has_verb,
    is_verb_form,
)
from llm.scripted_text import word_set

#: Which part of the profile a note comes from: it frames a bare noun phrase
#: ("Trouble sleeping" is "it's trouble sleeping" as a problem, "I'd like ..." as a goal).
Field = Literal["background", "problem", "goals", "personality", "fact", "topic"]

_PREPOSITIONS = word_set("of at in from for with on")
_DURATION = re.compile(r"\bfor (\w+ ){0,2}(years|months|weeks|decades)\b|\bsince\b")
# Nouns and comparatives: a goal starting with one is a thing wanted ("calmer mornings").
_NOT_VERB_SUFFIXES = ("ness", "ity", "ment", "tion", "sion", "ship", "ance", "ence", "er", "ier")


def with_subjects(note: str, field: Field) -> str:
    """``note`` (one sentence, no end punctuation) with "I" wherever a clause lacks a subject."""
    return join_clauses(subject_clauses(note, field))


def subject_clauses(note: str, field: Field) -> list[str]:
    """The clauses of ``note``, each with a subject: one clause when the note has its own
    subject, else one per comma fragment ("Forklift driver, married" -> two)."""
    pieces = [piece.strip() for piece in note.split(",") if piece.strip()]
    if not pieces:
        return [note]
    if has_subject(pieces[0]):
        return [_my_kin(note)]
    fragments: list[str] = []
    for piece in pieces:
        first = piece.split()[0].lower()
        if fragments and first in CONTINUATIONS:
            fragments[-1] += ", " + piece
        else:
            fragments.append(re.sub(r"^(and|or)\s+", "", piece, flags=re.IGNORECASE))
    return [_fragment(fragment, field) for fragment in fragments]


def has_subject(clause: str) -> bool:
    """Whether ``clause`` starts with its own subject ("They lost", "A letter arrived")."""
    words = [word.lower().strip(",;:") for word in clause.split()]
    if not words:
        return True
    if words[0] in SUBJECTS:
        return True
    if words[0] in DETERMINERS:
        return has_verb(words[1:])
    if is_verb_form(words[0]):
        return False
    return has_verb(words[1:])


def _my_kin(clause: str) -> str:
    first, _, rest = clause.partition(" ")
    if first.lower() in KIN and first.lower() != "self":
        return f"my {_uncap(first)} {rest}".strip()
    return clause


def _fragment(fragment: str, field: Field) -> str:
    if has_subject(fragment):
        return _my_kin(fragment)
    tokens = fragment.split()
    start = 0
    while start < len(tokens) - 1 and tokens[start].lower() in ADVERBS:
        start += 1
    adverbs = "".join(token.lower() + " " for token in tokens[:start])
    head, rest = tokens[start].lower(), " ".join(tokens[start + 1 :])
    if head in AUXILIARIES:
        return f"I {adverbs}{AGREEMENT.get(head, head)} {rest}"
    if head in PASSIVE or (head == "made" and rest.startswith("redundant")):
        return f"I was {adverbs}{head} {rest}"
    if head in STATES or (
        len(tokens) - start <= 2 and field not in ("fact", "topic") and _adjective(head, field)
    ):
        return f"I'm {adverbs}{head} {rest}"
    if field == "goals":
        goal = _goal(head, rest)
        if goal:
            return goal
    if head in VERBS or head.endswith("ed") or head in IRREGULAR_PAST:
        return f"I {adverbs}{head} {rest}"
    if head.endswith("s") and base_form(head) in VERBS:
        return f"I {adverbs}{base_form(head)} {rest}"
    if head.endswith("ing") and field in ("problem", "background", "fact"):
        return f"I've been {adverbs}{head} {rest}"
    return _noun_phrase(tokens, field)


def _adjective(word: str, field: Field) -> bool:
    if field == "personality":
        return True
    return word.endswith(ADJECTIVE_SUFFIXES) and word not in PASSIVE and word not in VERBS


def _goal(head: str, rest: str) -> str:
    if head == "to":
        return f"I want to {rest}"
    if head == "not":
        return f"I don't want to {rest}"
    if head in VERBS or (head not in GOAL_NOUNS and not head.endswith(_NOT_VERB_SUFFIXES)):
        return f"I want to {head} {rest}"
    if head.endswith("ing"):
        return f"I want to focus on {head} {rest}"
    return ""


def _noun_phrase(tokens: list[str], field: Field) -> str:
    phrase = " ".join([_uncap(tokens[0]), *tokens[1:]])
    first = tokens[0].lower()
    if field in ("fact", "topic"):
        return phrase
    if len(tokens) <= 2 and (
        field == "personality" or tokens[-1].lower().endswith(ADJECTIVE_SUFFIXES)
    ):
        return f"I'm {phrase}"
    if first in NUMBERS or first.isdigit():
        return f"I have {phrase}"
    if field == "problem":
        return f"it's {phrase}"
    if field == "goals":
        return f"I'd like {phrase}"
    if field == "personality":
        if len(tokens) > 2 and not phrase.startswith("a bit"):  # "dry sense of humour"
            return f"I have {phrase}" if first in DETERMINERS else f"I have a {phrase}"
        return f"I'm {phrase}"
    head = _head_noun(tokens)
    if head in ROLES or (head.endswith(ROLE_SUFFIXES) and len(head) > 4 and head not in NOT_ROLES):
        # "Driver for twenty years" -> "I've been a driver for twenty years".
        verb = "I've been" if _DURATION.search(phrase) else "I'm"
        if first in DETERMINERS:
            return f"{verb} {phrase}"
        return f"{verb} {'an' if phrase[:1] in 'aeiou' else 'a'} {phrase}"
    if first in DETERMINERS:
        return f"there's {phrase}"
    return f"I have {phrase}"


def _head_noun(tokens: list[str]) -> str:
    words: list[str] = []
    for token in tokens:
        if token.lower() in _PREPOSITIONS:
            break
        words.append(token.lower().strip(",;"))
    return words[-1] if words else ""


def _uncap(word: str) -> str:
    if word == "I" or word.startswith("I'") or word.startswith("SELF"):
        return word
    if word[:1].isupper() and word[1:] == word[1:].lower():
        return word[:1].lower() + word[1:]
    return word


def join_clauses(clauses: list[str]) -> str:
    """Fragments as one spoken sentence; runs of "I'm ..." share one "I'm"."""
    groups: list[list[str]] = []
    for clause in (re.sub(r"\s+", " ", c).strip() for c in clauses):
        if not clause:
            continue
        if clause.startswith("I'm ") and groups and groups[-1][0].startswith("I'm "):
            groups[-1].append(clause[4:])
        else:
            groups.append([clause])
    if len(groups) == 1 and len(groups[0]) > 1:
        return ", ".join(groups[0][:-1]) + " and " + groups[0][-1]
    spoken = [", ".join(group) for group in groups]
    if not spoken:
        return ""
    spoken = [spoken[0], *(_lower_start(clause) for clause in spoken[1:])]
    if len(spoken) == 1:
        return spoken[0]
    return ", ".join(spoken[:-1]) + " and " + spoken[-1]


def _lower_start(clause: str) -> str:
    first, _, rest = clause.partition(" ")
    return f"{_uncap(first)} {rest}".strip()
