"""Fact matching: does a text tell a hidden fact? Shared by the integrity checks (a locked
fact leaking) and the live client state (an unlocked fact disclosed, a topic touched).

Pure and deterministic. Content words are compared as stems, so the person does not
matter ("their father died" meets "my dad died"), and function words, pronouns and fillers
are left out. Everyday words (family, time, work, home, sleep) weigh
:data:`EVERYDAY_WEIGHT`, others :data:`SPECIFIC_WEIGHT`; a text tells a fact when it shares
at least :data:`FACT_SHARE` of the weight of the fact's note or of its disclosure line, and
at least :data:`MIN_SHARED_WEIGHT` (or the whole weight of a shorter version). Topics are
not used here: they say what makes a fact relevant ("phone", "online"), not what it says,
and half of them in one reply ("I'm always online on my phone") tells nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from llm.base import HiddenFact
from textprep import spell_out, straight_quotes

__all__ = [
    "EVERYDAY_WEIGHT",
    "FACT_SHARE",
    "MIN_SHARED_WEIGHT",
    "SPECIFIC_WEIGHT",
    "FactMatch",
    "content_stems",
    "content_stems_of",
    "match_fact",
    "mentions_fact",
    "normalise",
    "read",
    "stem_weight",
    "words",
]

#: Weights of shared stems, and the share and minimum (one specific word and one everyday
#: word, or three everyday words) that make a text tell a fact. With these, "the night
#: shifts are killing me, I barely sleep" does not tell "taking her mother's sleeping pills
#: to get through night shifts" (3 of 7), while "using Mum's pills to sleep" does (4 of 7).
SPECIFIC_WEIGHT = 2
EVERYDAY_WEIGHT = 1
FACT_SHARE = Fraction(1, 2)
MIN_SHARED_WEIGHT = 3


def _words_of(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOPWORDS = _words_of(
    """a about above after again against all also am an and any anyone anything are around as
    at away back be because been before being both but by can could did do does doing done down
    during each either else even ever every everyone everything few for from further get gets
    getting got had has have having he her here hers herself him himself his how i if in into is
    it its itself just kind know like lot lots maybe me might more most much must my myself no
    nor not now of off oh okay on once one only or other our ours out over own perhaps pretty
    quite rather really right same she should so some something sometimes sort still such than
    that the their theirs them themselves then there these they thing things this those though
    through to too um under until up us very was we well were what when where whether which
    while who whom why will with would yeah yes yet you your yours yourself honestly anyway
    actually basically feel feels felt seem seems say said says tell told think thought mean
    way bit always never last ago since till front"""
)
# Words every client uses about ordinary life: they count, but for less.
_EVERYDAY = _words_of(
    """mother father son daughter brother sister partner kid family parent friend home house
    work school class shift night day week month year time hour morning today two three four
    five sleep eat drink take put use want need come go keep make find care afraid sad
    scare worry angry tired good bad"""
)
_ALIASES = {
    "mum": "mother", "mom": "mother", "mummy": "mother", "dad": "father", "daddy": "father",
    "died": "die", "dies": "die", "dying": "die", "dead": "die", "death": "die",
    "passed": "die", "children": "kid", "child": "kid", "kids": "kid", "wife": "partner",
    "husband": "partner", "job": "work", "employer": "work", "boss": "work", "drank": "drink",
    "drunk": "drink", "fell": "fall", "falling": "fall", "slept": "sleep", "kept": "keep",
    "lost": "lose", "frightened": "afraid", "scared": "afraid", "classmates": "class",
}  # fmt: skip
_SUFFIXES = ("ingly", "ments", "ment", "ings", "ing", "edly", "ers", "er", "ied", "ies",
             "ed", "es", "ly", "s")  # fmt: skip
# "-es" is a suffix only after a hiss ("boxes", "wishes", "classes"); "homes" and "cases"
# are "home" and "case" + "s".
_SIBILANT_ENDINGS = ("ss", "x", "z", "ch", "sh")
# Contractions spelled out in one pass (a pass per pattern took 10 scans of every reply;
# the persona checks normalise each reply ~5 times: 0.75 of a 3.2 ms check of a
# 1,900-character reply). The leftmost match wins, so "can't" is never read as "ca" +
# "n't"; no replacement holds an apostrophe, so one pass spells what ten did.
_CONTRACTION = re.compile(
    r"\bcan't\b|\bcannot\b|\bwon't\b|\blet's\b|\bi'm\b"
    r"|\b(it|that|what|here|there|he|she|who|everything)'s\b"
    r"|n't\b|'re\b|'ve\b|'ll\b|'d\b"
)
_SPELLED = {
    "can't": "can not", "cannot": "can not", "won't": "will not", "let's": "let us",
    "i'm": "i am", "n't": " not", "'re": " are", "'ve": " have", "'ll": " will", "'d": " would",
}  # fmt: skip
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _spelled(match: re.Match[str]) -> str:
    subject = match.group(1)
    return f"{subject} is" if subject else _SPELLED[match.group(0)]


def normalise(text: str) -> str:
    """Lower-case, straight quotes, contractions spelled out ("can't" -> "can not")."""
    return spell_out(straight_quotes(text).lower(), _CONTRACTION, _spelled)


def words(normalised: str) -> list[str]:
    return _WORD.findall(normalised)


# A finished reply is read by the persona checks, then by the disclosure check and the
# next turn's topic window (content_stems): memoised, it is normalised and split once, not
# three times (0.25 ms a time for the benchmark's 1,875-character replies). Only the
# replies finishing at once need to be held: 64 of ~2 KB and ~300 words, ~1 MB at most.
@lru_cache(maxsize=64)
def read(text: str) -> tuple[str, tuple[str, ...]]:
    """``text`` normalised, and its :func:`words`."""
    normalised = normalise(text)
    return normalised, tuple(words(normalised))


def _stem(word: str) -> str:
    """A number is its own stem ("1000" is not "100") and stays out of the memo, as in
    :func:`skills.text.stem` (a benchmark reply's content stems 0.182 -> 0.080 ms)."""
    return word if word.isdigit() else _stem_word(word)


# Memoised for the reason :func:`skills.text.stem` is: a reply's ~300 words are ~100
# distinct ones, repeated from reply to reply.
@lru_cache(maxsize=16_384)
def _stem_word(word: str) -> str:
    word = _ALIASES.get(word, word).replace("'", "")
    for suffix in _SUFFIXES:
        if suffix == "es" and not word[:-2].endswith(_SIBILANT_ENDINGS):
            continue
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            word = word[: -len(suffix)] + ("y" if suffix in ("ied", "ies") else "")
            break
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls":
        word = word[:-1]
    return word


# Every reply's checks stem each fact's note and disclosure again (the same few texts per
# session); the result is immutable, so a memo keeps that to once per text.
@lru_cache(maxsize=2048)
def content_stems(text: str) -> frozenset[str]:
    """Stems of the words that carry meaning: no pronouns, function words or fillers, so
    "their father died" and "my dad died" give the same stems. Words under 3 letters go."""
    return content_stems_of(read(text)[1])


def content_stems_of(found: Iterable[str]) -> frozenset[str]:
    """:func:`content_stems` of a text already split into ``words(normalise(text))``."""
    return frozenset(_stem(w) for w in found if len(w) >= 3 and w not in _STOPWORDS)


_EVERYDAY_STEMS = frozenset(_stem(word) for word in _EVERYDAY)


def stem_weight(stems: Iterable[str]) -> int:
    """The evidence ``stems`` carry: :data:`SPECIFIC_WEIGHT` each, everyday ones less."""
    return sum(EVERYDAY_WEIGHT if s in _EVERYDAY_STEMS else SPECIFIC_WEIGHT for s in stems)


@dataclass(frozen=True, slots=True)
class FactMatch:
    """The stems a text shares with the version of a fact (note or disclosure) it tells."""

    version: str
    shared: frozenset[str]


def match_fact(fact: HiddenFact, stems: frozenset[str]) -> FactMatch | None:
    """How ``stems`` (of a text, :func:`content_stems`) tell ``fact``, or None if they don't."""
    for version in (fact.fact, fact.disclosure):
        wanted = content_stems(version)
        shared = wanted & stems
        total, got = stem_weight(wanted), stem_weight(shared)
        if wanted and got >= min(MIN_SHARED_WEIGHT, total) and got >= FACT_SHARE * total:
            return FactMatch(version, shared)
    return None


def mentions_fact(fact: HiddenFact, text: str) -> bool:
    """Whether ``text`` tells ``fact`` (the rule in the module docstring)."""
    return match_fact(fact, content_stems(text)) is not None
