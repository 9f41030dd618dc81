"""Question form: is a sentence a question, and is it open or closed?

MITI 4.2.1: an open question invites a wide range of answers; a closed one
asks for yes/no, a short fact (a number, a date, a name) or a pick from a
list. Form decides, not punctuation: typed chat drops the "?" ("how are you
feeling today") and adds it to statements ("you're feeling stuck?"), so the
first words of the sentence (after "okay, so ...") carry the decision.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from skills.lexicon import (
    AUXILIARIES,
    EXCLAMATION_ADJECTIVES,
    FACILITATION_PHRASES,
    FACILITATION_WORDS,
    LEAD_INS,
    SUBJECTS,
    WH_WORDS,
)
from skills.phrases import (
    AUX_INVITATION,
    CHOICE,
    FINAL_WH,
    GREETING,
    OPEN_INVITATION,
    RUN_ON_QUESTION,
    SCALING,
    TAG_QUESTION,
    WH_CLOSED,
)
from skills.text import words
from skills.vocabulary import QuestionKind

_CLAUSE_BREAK = re.compile(r"\s*[,;:\u2013\u2014]\s*|\s+-+\s+|\.\.\.\s*")
# "isolating how", "bad in what way": chat fragments ending on a wh-word are
# questions without a "?" only when this short, so longer statements that end
# on "...why" or "...when" stay statements.
_SHORT_FRAGMENT = 4
_PERSONAL_SUBJECTS = frozenset({"you", "i", "we", "he", "she", "they"})
# A lead-in word is dropped only before words that start a new clause, so
# "well done" keeps its "well" while "okay so what happened" loses "okay so".
_CLAUSE_STARTERS = (
    WH_WORDS
    | AUXILIARIES
    | LEAD_INS
    | frozenset({"you", "your", "i", "it", "that", "this", "there", "tell", "let", "the", "we"})
)


@dataclass(frozen=True, slots=True)
class Head:
    """A sentence without its greeting clauses and lead-in words ("okay, so ...")."""

    text: str
    so_lead: bool


def strip_lead_ins(normalised: str) -> Head:
    clauses = _CLAUSE_BREAK.split(normalised)
    while clauses and (GREETING.match(clauses[0].rstrip(".!? ")) or _only_filler(clauses[0])):
        clauses.pop(0)
    head = ", ".join(clauses)
    so_lead = head.startswith("so ")
    tokens = head.split(" ")
    start = 0
    while (
        start < len(tokens) - 1
        and tokens[start] in LEAD_INS
        and tokens[start + 1].strip("?.!,") in _CLAUSE_STARTERS
    ):
        start += 1
    return Head(" ".join(tokens[start:]).strip(), so_lead)


def _only_filler(clause: str) -> bool:
    found = words(clause)
    return all(word in LEAD_INS or word in FACILITATION_WORDS for word in found)


def is_facilitation(head: str) -> bool:
    """True for "mm-hm", "okay.", "I see", "Really?": nothing but keeping the client going."""
    clauses = [words(clause) for clause in _CLAUSE_BREAK.split(head)]
    return all(
        " ".join(found) in FACILITATION_PHRASES
        or all(word in FACILITATION_WORDS or word in LEAD_INS for word in found)
        for found in clauses
    )


def question_kind(head: str, asks: bool) -> QuestionKind | None:
    """The kind of question ``head`` asks, or None when it is not one by form.

    ``asks`` says the sentence ended with "?"; without it a sentence must open
    like a question ("how are you feeling", "do you still play") to count.
    """
    if OPEN_INVITATION.match(head):
        return QuestionKind.OPEN
    kind = _interrogative(head, asks)
    if kind is not None:
        return QuestionKind.CLOSED if SCALING.search(head) else kind
    clauses = _CLAUSE_BREAK.split(head)[1:] if asks else []
    for clause in [*clauses, *RUN_ON_QUESTION.split(head)[1:]]:
        kind = _interrogative(clause.strip(), asks)
        if kind is not None:
            return kind
    final = FINAL_WH.search(head)
    if not asks and (final is None or len(words(head)) > _SHORT_FRAGMENT):
        return None
    if asks and TAG_QUESTION.search(head):
        return QuestionKind.CLOSED
    if final is not None:
        closed = final.group(1) in ("who", "whom", "when", "where")
        return QuestionKind.CLOSED if closed else QuestionKind.OPEN
    return None


def _interrogative(clause: str, asks: bool) -> QuestionKind | None:
    tokens = words(clause)
    if not tokens:
        return None
    first = tokens[0]
    second = tokens[1] if len(tokens) > 1 else ""
    if first in WH_WORDS:
        return _wh_kind(clause, first, second, asks)
    if first in AUXILIARIES:
        subject = tokens[2] if second == "not" and len(tokens) > 2 else second
        if subject not in SUBJECTS and not asks:
            return None
        if AUX_INVITATION.match(clause):
            return QuestionKind.OPEN
        return QuestionKind.CLOSED
    return None


def _wh_kind(clause: str, first: str, second: str, asks: bool) -> QuestionKind | None:
    if second in _PERSONAL_SUBJECTS:
        return None  # "what you said...", "when you drink, ...": a clause, not a question
    if not asks and (
        (first == "what" and second in ("a", "an"))
        or (first == "how" and second in EXCLAMATION_ADJECTIVES)
    ):
        return None  # "what a week", "how awful": exclamations
    if WH_CLOSED.match(clause):
        return QuestionKind.CLOSED
    if asks and CHOICE.search(clause):
        return QuestionKind.CLOSED
    return QuestionKind.OPEN
