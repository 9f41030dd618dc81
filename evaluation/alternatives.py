"""Suggested alternatives for the student's weakest turns, from templates (no model).

Weakest first: a closed question right after another closed question (the
interview turning into a form), advice without permission, a judgement, then
any other closed question; ties go to the earlier turn. At most one
alternative per turn, :data:`ALTERNATIVES` of them, returned in transcript order.

Templates: a closed question becomes an open one keeping its topic words ("Do
you feel sad about your dad?" -> "How have you been feeling about your dad?");
a question in a streak, or a judgement, becomes a reflection of the client's
previous turn; advice becomes asking permission first (MI's ask-offer-ask).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import IntEnum

from evaluation.results import Alternative
from evaluation.transcript import Turn
from skills import Behaviour, CodedTurn, InputKind, QuestionKind, Role
from skills.lexicon import AUXILIARIES, EXCLAMATION_ADJECTIVES, FEELING_WORDS, STOPWORDS
from skills.questions import strip_lead_ins
from skills.text import normalise, split_sentences, words

__all__ = [
    "ALTERNATIVES",
    "Weakness",
    "open_question",
    "permission_first",
    "reflection_of",
    "suggest_alternatives",
    "weakest_turns",
]

#: Turns rewritten per session: three changes are what a student can take into
#: the next interview; a longer list reads as a verdict.
ALTERNATIVES = 3
#: Longest reflection built from a client turn, in words: a reflection should be
#: shorter than what it reflects.
_REFLECTION_WORDS = 20


class Weakness(IntEnum):
    """Lower is weaker."""

    CLOSED_STREAK = 0
    ADVICE = 1
    JUDGEMENT = 2
    CLOSED = 3


_WHY = {
    Weakness.CLOSED_STREAK: (
        "Closed questions one after another turn the interview into a form; reflecting what "
        "the client just said shows you listened and lets them choose what to say next."
    ),
    Weakness.ADVICE: (
        "Advice nobody asked for tends to meet 'yes, but'; asking first leaves the decision "
        "with the client and makes them more likely to consider the idea."
    ),
    Weakness.JUDGEMENT: (
        "A judgement puts the client on the defensive; reflecting what they said keeps them "
        "talking about it instead of justifying themselves."
    ),
    Weakness.CLOSED: (
        "A closed question invites a yes or a no; an open one on the same topic invites the "
        "client's own story."
    ),
}
_ADVICE_ACTION = tuple(
    re.compile(pattern)
    for pattern in (
        r"\bif i were you,? i would (?P<action>.+)",
        r"\bi (?:would |really |strongly )*(?:suggest|recommend)(?: that)?(?: you)? (?P<action>.+)",
        r"\byou (?:really |just |definitely |probably )?(?:should|ought to|need to|have to|"
        r"have got to|must)(?: really| just)? (?P<action>.+)",
        r"^(?:why do not you|why not) (?P<action>.+)",
        r"^how about (?:you |we )?(?:trying )?(?P<action>.+)",
        r"\b(?:it would|it might|it could) (?:really )?help (?:to |if you )?(?P<action>.+)",
        r"^(?:just )?(?P<action>(?:try|stop|start|quit|cut|call|talk|join|get|go) .+)",
    )
)
_ABOUT = re.compile(r"\babout (?P<topic>(?:the |your |his |her |their |my )?[a-z' ]+)$")
_NOUN_PHRASE = re.compile(r"\b(?P<np>(?:your|his|her|their|the) [a-z']+)")
_DO_YOU = re.compile(r"^(?:do|does) you (?P<rest>.+)$")
_PRONOUN_SWAP = {
    "i": "you",
    "i'm": "you're",
    "i've": "you've",
    "i'd": "you'd",
    "i'll": "you'll",
    "me": "you",
    "my": "your",
    "mine": "yours",
    "myself": "yourself",
    "am": "are",
}
_FIRST_PERSON_WAS = re.compile(r"\bI was\b", re.IGNORECASE)
_TOKEN = re.compile(r"[A-Za-z']+|[^A-Za-z']+")
_REPORTING = re.compile(r"^(?:like |as )?(?:I said|I told you|I already said),? ", re.IGNORECASE)
_DENIAL = re.compile(
    r"\b(?:fine|okay|ok|alright|all right|no big deal|nothing)\b(?! (?:with|about|to))",
    re.IGNORECASE,
)
# First words lower-cased after "It sounds like"; any other capital may be a name.
_COMMON_OPENERS = STOPWORDS | {"nothing", "nobody", "everyone", "someone", "people", "life", "work"}
_CURLY = str.maketrans({"\u2019": "'", "\u2018": "'"})
_PRONOUNS = frozenset({"it", "that", "this", "them", "things", "everything"})
_TRIED = re.compile(r"^(?:have|did) you (?:ever )?(?P<verb>tried|thought about|considered)\b")


def suggest_alternatives(
    turns: Sequence[Turn], coded: Sequence[CodedTurn], limit: int = ALTERNATIVES
) -> tuple[Alternative, ...]:
    """Alternatives for the ``limit`` weakest student turns, in transcript order."""
    chosen = weakest_turns(coded, limit)
    by_seq = {c.seq: c for c in coded}
    out = [_alternative(by_seq[seq], weakness, turns) for seq, weakness in chosen]
    return tuple(sorted(out, key=lambda alternative: alternative.seq))


def weakest_turns(coded: Sequence[CodedTurn], limit: int) -> list[tuple[int, Weakness]]:
    """The ``limit`` weakest student turns as ``(seq, weakness)``, weakest first."""
    ranked: list[tuple[Weakness, int]] = []
    previous_closed = False
    for turn in coded:
        closed = turn.code.behaviour is Behaviour.QUESTION and turn.code.question is _CLOSED
        found = []
        if closed:
            found.append(Weakness.CLOSED_STREAK if previous_closed else Weakness.CLOSED)
        if turn.code.advice_without_permission:
            found.append(Weakness.ADVICE)
        if turn.code.judgement:
            found.append(Weakness.JUDGEMENT)
        if found:
            ranked.append((min(found), turn.seq))
        previous_closed = closed
    return [(seq, weakness) for weakness, seq in sorted(ranked)[:limit]]


def open_question(question: str) -> str:
    """A closed question reworded as an open one about the same topic."""
    sentences = split_sentences(question)
    head = strip_lead_ins(normalise(sentences[-1] if sentences else question)).text
    head = head.rstrip(" ?.!")
    found = words(head)
    about = _ABOUT.search(head)
    noun = _NOUN_PHRASE.search(head)
    topic = about.group("topic").strip() if about else noun.group("np") if noun else ""
    topic = "" if topic in _PRONOUNS else topic
    tried = _TRIED.match(head)
    if tried:
        return f"What have you {tried.group('verb')} so far?"
    if any(w in FEELING_WORDS or w in ("feel", "feeling", "felt") for w in found):
        return _capital(f"How have you been feeling{' about ' + topic if topic else ''}?")
    if any(w in EXCLAMATION_ADJECTIVES for w in found):
        return _capital(f"How has {topic or 'that'} been for you?")
    if topic:
        return _capital(f"What can you tell me about {topic}?")
    do_you = _DO_YOU.match(head)
    if do_you:
        return _capital(f"What is it like for you when you {do_you.group('rest')}?")
    content = [w for w in found if w not in STOPWORDS and w not in AUXILIARIES]
    if content:
        return _capital(f"What can you tell me about {' and '.join(content[:2])}?")
    return "What would you like me to understand about that?"


def reflection_of(client_text: str) -> str:
    """A simple reflection of the client's turn: its feeling sentence (else its last
    statement) given back in the second person, "It sounds like ..."."""
    sentences = [s for s in split_sentences(client_text) if not s.rstrip().endswith("?")]
    if not sentences:
        return "It sounds like there is a lot going on for you right now."
    feeling = [s for s in sentences if any(w in FEELING_WORDS for w in words(normalise(s)))]
    chosen = (feeling or sentences)[-1].translate(_CURLY).rstrip(" .!")
    chosen = _REPORTING.sub("", _FIRST_PERSON_WAS.sub("you were", chosen))
    tokens = _TOKEN.findall(chosen)
    swapped = [_PRONOUN_SWAP.get(token.lower(), token) for token in tokens]
    if swapped and swapped[0].lower() in _COMMON_OPENERS:
        swapped[0] = swapped[0].lower()
    clipped = " ".join("".join(swapped).split()[:_REFLECTION_WORDS])
    if _DENIAL.search(chosen):
        # "I'm fine" after a hard question: give back both sides, not just the words.
        return f"It sounds like {clipped}, and at the same time some of this is still hard."
    return f"It sounds like {clipped}."


def permission_first(advice: str) -> str:
    """Advice turned into asking permission first, keeping the idea to offer."""
    text = normalise(advice)
    for sentence in split_sentences(text) or [text]:
        for pattern in _ADVICE_ACTION:
            match = pattern.search(sentence)
            if match:
                action = _restore_i(match.group("action").rstrip(" .!?"))
                return (
                    "Would it be all right if I shared an idea? One option could be to "
                    f"{action}. What do you make of that?"
                )
    return (
        "Would it be all right if I shared an idea that has helped other people? "
        "You can tell me what fits for you."
    )


def _alternative(turn: CodedTurn, weakness: Weakness, turns: Sequence[Turn]) -> Alternative:
    previous = _client_before(turns, turn.seq)
    if weakness is Weakness.ADVICE:
        advice = [u.text for u in turn.code.utterances if u.input is _ADVICE_WITHOUT]
        text = permission_first(advice[-1] if advice else turn.text)
    elif weakness in (Weakness.CLOSED_STREAK, Weakness.JUDGEMENT) and previous is not None:
        text = reflection_of(previous.text)
    else:
        text = open_question(_last_closed(turn) or turn.text)
    return Alternative(turn.seq, text, _WHY[weakness])


_ADVICE_WITHOUT = InputKind.ADVICE_WITHOUT_PERMISSION
_CLOSED = QuestionKind.CLOSED


def _last_closed(turn: CodedTurn) -> str | None:
    closed = [
        u.text
        for u in turn.code.utterances
        if u.behaviour is Behaviour.QUESTION and u.question is QuestionKind.CLOSED
    ]
    return closed[-1] if closed else None


def _client_before(turns: Sequence[Turn], seq: int) -> Turn | None:
    before = [t for t in turns if t.seq < seq and t.role is Role.CLIENT]
    return before[-1] if before else None


def _restore_i(text: str) -> str:
    return re.sub(r"\bi\b", "I", text)


def _capital(text: str) -> str:
    text = _restore_i(text)
    return text[:1].upper() + text[1:]
