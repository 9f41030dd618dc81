"""Coding one utterance (one sentence) against the client's last turn.

The order of the checks is the decision table, first match wins:

1. nothing but greetings, thanks, closings or "mm-hm"   -> other
2. "why don't you ...", "how about trying ..."          -> input (advice)
3. a question by form (:mod:`skills.questions`), or
   "you said ...?"                                      -> question, open or closed
4. advice ("you should", "you might try", "try ...")    -> input, advice with or
                                                           without permission
5. blaming, labelling, warning (MITI confront)          -> other, ``judgement``
6. "you're not X" just after the client said "I'm X"    -> other (reassurance)
7. a summary ("so far you've told me ...")              -> reflection, complex
8. options or facts, unless phrased as a reflection     -> input
9. restates or extends the client (:func:`_reflects`)   -> reflection
10. a statement ending in "?" that reflects nothing     -> question, closed
11. anything else                                       -> other

``asks_about_secrets`` marks a question probing what the client hides; the
same words in a statement ("you haven't told anyone") are a reflection.

Affirmations are a flag: an affirming sentence is a reflection when it also
reflects the client's turn ("you've worked really hard on this" after "I've
been working on it for months"), otherwise other, as MITI 4.2.1 codes Affirm
outside the question/reflection/information counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from skills.lexicon import FEELING_WORDS, INNER_STATE
from skills.phrases import (
    ADVICE,
    ADVICE_QUESTION,
    AFFIRMATION,
    AMPLIFIERS,
    CHECKING,
    COMPLEX_CUE,
    IMPERATIVE_ADVICE,
    INFORMATION,
    JUDGEMENT,
    OPTIONS,
    REFLECTIVE_STEM,
    REPORTED_OBLIGATION,
    SECRETS,
    SUMMARY,
    SYMPATHY,
    VALUE_CUE,
)
from skills.questions import is_facilitation, question_kind, strip_lead_ins
from skills.text import ClientContext, content_stems, normalise, stem, words
from skills.vocabulary import Behaviour, Flag, InputKind, QuestionKind, ReflectionKind

_INNER = "|".join(sorted(INNER_STATE | FEELING_WORDS))
_YOU_INNER_STATE = re.compile(
    r"\byou (are |were |have been |had been |seem |sound |might be |must be |probably |really |"
    r"also |still |kind of |just |do not |did not |are not |can not |so |very |pretty |quite )*"
    rf"({_INNER})\b"
)
_YOU_FEEL = re.compile(
    r"\byou (are |were |have been )?(feel|feeling|felt)\b|\bsick of\b|\bfed up\b"
)
_SECOND_PERSON = re.compile(r"\b(you|your|yours|yourself)\b")
_FIRST_PERSON = re.compile(r"^(i|we|let us|let me|my|me|our)\b")
_CONTEXT_PRONOUN = re.compile(
    r"^(it|that|this|they|he|she|things|everything|there|these|those|their|his|her)\b"
    r"|\b(her|him|them)\b"
)
_DENIAL = re.compile(r"^(of course )?(you are (not|no)|that is not (true|right))\b")


@dataclass(frozen=True, slots=True)
class UtteranceCode:
    """The MITI code of one utterance; ``text`` is the student's own wording."""

    text: str
    behaviour: Behaviour
    question: QuestionKind | None = None
    reflection: ReflectionKind | None = None
    input: InputKind | None = None
    flags: frozenset[Flag] = frozenset()


def code_utterance(
    sentence: str, client: ClientContext | None, *, permission: bool
) -> UtteranceCode:
    """Code one sentence. ``permission`` says advice here counts as invited
    (the client asked for it or agreed to hear it, or the turn gives the
    choice back); it never fails."""
    text = normalise(sentence)
    asks = text.rstrip(" \"')").endswith("?")
    head = strip_lead_ins(text)
    flags: set[Flag] = set()
    if JUDGEMENT.search(text):
        flags.add(Flag.JUDGEMENT)
    if AFFIRMATION.search(text):
        flags.add(Flag.AFFIRMATION)

    def coded(
        behaviour: Behaviour,
        question: QuestionKind | None = None,
        reflection: ReflectionKind | None = None,
        input_kind: InputKind | None = None,
    ) -> UtteranceCode:
        if behaviour in (Behaviour.REFLECTION, Behaviour.OTHER) and _empathic(text, behaviour):
            flags.add(Flag.EMPATHY)
        if input_kind is InputKind.ADVICE_WITHOUT_PERMISSION:
            flags.add(Flag.ADVICE_WITHOUT_PERMISSION)
        if Flag.JUDGEMENT in flags:
            flags.discard(Flag.EMPATHY)
        return UtteranceCode(
            sentence, behaviour, question, reflection, input_kind, frozenset(flags)
        )

    if not head.text or is_facilitation(head.text):
        return coded(Behaviour.OTHER)
    if ADVICE_QUESTION.match(head.text):
        return coded(Behaviour.INPUT, input_kind=_advice_kind(permission))
    question = question_kind(head.text, asks)
    if question is None and asks and CHECKING.match(head.text):
        question = QuestionKind.CLOSED
    if question is not None:
        if SECRETS.search(text):
            flags.add(Flag.ASKS_ABOUT_SECRETS)
        return coded(Behaviour.QUESTION, question)

    advice = (ADVICE.search(text) and not REPORTED_OBLIGATION.search(text)) or (
        IMPERATIVE_ADVICE.match(head.text)
    )
    if advice:
        return coded(Behaviour.INPUT, input_kind=_advice_kind(permission))
    if Flag.JUDGEMENT in flags:
        return coded(Behaviour.OTHER)
    stems = content_stems(text)
    if _contradicts(head.text, stems, client):
        return coded(Behaviour.OTHER)
    if SUMMARY.search(text):
        flags.add(Flag.SUMMARY)
        return coded(Behaviour.REFLECTION, reflection=ReflectionKind.COMPLEX)
    strong = REFLECTIVE_STEM.search(text) is not None
    if not strong:
        if OPTIONS.search(text):
            return coded(Behaviour.INPUT, input_kind=InputKind.OPTIONS)
        answering = client is not None and client.asked_question
        if INFORMATION.search(text) or (answering and not _SECOND_PERSON.search(text)):
            return coded(Behaviour.INPUT, input_kind=InputKind.INFORMATION)
    affirming = Flag.AFFIRMATION in flags
    if strong or _reflects(text, head.text, head.so_lead, stems, client, affirming=affirming):
        return coded(Behaviour.REFLECTION, reflection=_reflection_kind(text, stems, client))
    if asks:
        return coded(Behaviour.QUESTION, QuestionKind.CLOSED)
    return coded(Behaviour.OTHER)


def _contradicts(head: str, stems: frozenset[str], client: ClientContext | None) -> bool:
    """The student denies what the client just said of themselves (MITI: not a
    reflection; reassuring or arguing). A denial of something the client
    already denied ("I'm not an alcoholic" -> "you're not an alcoholic") is a
    reflection, so the client's turn must be affirmative and share the words."""
    if client is None or not _DENIAL.match(head):
        return False
    return " not " not in f" {client.text} " and bool(stems & client.stems)


def _advice_kind(permission: bool) -> InputKind:
    if permission:
        return InputKind.ADVICE_WITH_PERMISSION
    return InputKind.ADVICE_WITHOUT_PERMISSION


def _reflects(
    text: str,
    head: str,
    so_lead: bool,
    stems: frozenset[str],
    client: ClientContext | None,
    *,
    affirming: bool,
) -> bool:
    """Whether a statement restates or extends the client's last turn.

    Evidence, strongest first: "you" + an inner state ("you want", "you're
    lonely"), which needs no context; then, only after a client turn, the
    client's own content words coming back (two of them, or one in a sentence
    about the client or making up half its content words); last, for a
    statement about the client ("you...", "so...", "it/that/them...") right
    after the client spoke, the guess that it is about what they said, which
    an affirmation does not get. The student's first-person statements ("I'm
    here to help") never count.
    """
    if _YOU_INNER_STATE.search(text):
        return True
    if client is None or _FIRST_PERSON.match(head):
        return False
    overlap = stems & client.stems
    second_person = _SECOND_PERSON.search(text) is not None
    if len(overlap) >= 2 or (
        overlap and (second_person or so_lead or 2 * len(overlap) >= len(stems))
    ):
        return True
    if not stems or affirming:
        return False
    return second_person or so_lead or _CONTEXT_PRONOUN.search(head) is not None


def _reflection_kind(
    text: str, stems: frozenset[str], client: ClientContext | None
) -> ReflectionKind:
    """Complex when the reflection adds something the client did not say.

    Added meaning shows as a double-sided or metaphoric shape, a guess ("I
    wonder if", "must be"), a value or a cause, a feeling word or an
    amplifier absent from the client's turn, or mostly new content: at least
    two content words and 60% of them not the client's.
    """
    if COMPLEX_CUE.search(text):
        return ReflectionKind.COMPLEX
    if VALUE_CUE.search(text) and (client is None or not VALUE_CUE.search(client.text)):
        return ReflectionKind.COMPLEX
    said = client.all_stems if client is not None else frozenset()
    for word in words(text):
        if (word in FEELING_WORDS or word in AMPLIFIERS) and stem(word) not in said:
            return ReflectionKind.COMPLEX
    if client is not None:
        new = stems - client.stems
        if len(new) >= 2 and 5 * len(new) >= 3 * len(stems):
            return ReflectionKind.COMPLEX
    return ReflectionKind.SIMPLE


def _empathic(text: str, behaviour: Behaviour) -> bool:
    """Sympathy ("I'm so sorry", "that must be hard", "no wonder"), or naming
    a feeling of the client's ("you feel...", a feeling word in a reflection)."""
    if SYMPATHY.search(text) or _YOU_FEEL.search(text):
        return True
    if behaviour is Behaviour.REFLECTION:
        return any(word in FEELING_WORDS for word in words(text))
    return False
