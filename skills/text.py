"""Text plumbing for the coder: normalising, splitting a turn into sentences,
and the content-word stems that reflection detection compares with the client.

Everything is a few regular expressions over lower-cased text; a 100-turn
transcript normalises in about a millisecond.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from skills.lexicon import CHAT_SPELLINGS, STEM_ALIASES, STOPWORDS
from textprep import spell_out, straight_quotes

# Contractions spelled out in one pass: a pass per spelling scanned a 1,875-character
# reply 11 times (0.71 of a 0.98 ms normalise). The leftmost match wins, so "can't" is
# never read as "ca" + "n't"; no spelling holds an apostrophe, so one pass spells what
# eleven did in turn.
_CONTRACTION = re.compile(
    r"\bcan't\b|\bcannot\b|\bwon't\b|\bain't\b|\blet's\b|\bi'm\b"
    r"|\b(it|that|what|how|there|here|he|she|who|where|everything|nothing)'s\b"
    r"|\b(i|you|we|they|he|she|it|that)'d\b"
    r"|n't\b|'re\b|'ve\b|'ll\b"
)
_SPELLED = {
    "can't": "can not", "cannot": "can not", "won't": "will not", "ain't": "is not",
    "let's": "let us", "i'm": "i am", "n't": " not", "'re": " are", "'ve": " have",
    "'ll": " will",
}  # fmt: skip
# A sentence ends at . ! ? (or a run of them) before a space, or at a line break.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\s*\n+\s*")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# Longest first, so "drinkings" loses "ings" rather than "s".
_SUFFIXES = ("ingly", "ings", "ing", "edly", "ers", "er", "ied", "ies", "ed", "es", "ly", "s")
_CHAT = re.compile(r"\b(" + "|".join(sorted(CHAT_SPELLINGS)) + r")\b")


def normalise(text: str) -> str:
    """Lower-case, straighten quotes, expand contractions and common chat spellings.

    Expanding "you're" to "you are" lets one pattern match both spellings, and
    typed chat ("how r u") reads like the spoken transcripts MITI was written for.
    """
    lowered = straight_quotes(text).lower()
    lowered = _CHAT.sub(lambda match: CHAT_SPELLINGS[match.group(1)], lowered)
    return spell_out(lowered, _CONTRACTION, _spelled)


def _spelled(match: re.Match[str]) -> str:
    is_subject, would_subject = match.group(1, 2)
    if is_subject:
        return f"{is_subject} is"
    if would_subject:
        return f"{would_subject} would"
    return _SPELLED[match.group(0)]


def split_sentences(text: str) -> list[str]:
    """The turn's sentences, each keeping its own end punctuation."""
    pieces = _SENTENCE_BREAK.split(text.strip())
    return [piece.strip() for piece in pieces if piece and _WORD.search(piece.lower())]


def words(normalised: str) -> list[str]:
    return _WORD.findall(normalised)


def stem(word: str) -> str:
    """A crude suffix stripper: "drinking", "drinks" and "drinker" all meet at "drink".

    Over-stemming is harmless here: stems are only compared with each other. A number is
    its own stem ("1000" is not "100") and stays out of the memo: a reply's numbers
    (times, amounts; the benchmark's stamps, 100 a reply) are mostly new, and each would
    miss it and push a word out (a benchmark reply's client context 0.235 -> 0.146 ms).
    """
    return word if word.isdigit() else _stem_word(word)


# A reply of ~300 words has ~100 distinct ones, and a session's words repeat from turn to
# turn: memoised, a say's client context (1,875 characters) took 0.85 ms, mostly here.
# Words are short and English has few of them in use; 16,384 entries are ~2 MB at most.
@lru_cache(maxsize=16_384)
def _stem_word(word: str) -> str:
    word = STEM_ALIASES.get(word, word).replace("'", "")
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            word = word[: -len(suffix)] + ("y" if suffix in ("ied", "ies") else "")
            break
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls":
        word = word[:-1]
    return word


def content_stems(normalised: str) -> frozenset[str]:
    """Stems of the words that carry meaning (not function words, pronouns or fillers)."""
    return _content_stems_of(words(normalised))


def _content_stems_of(found: Iterable[str]) -> frozenset[str]:
    return frozenset(stem(word) for word in found if word not in STOPWORDS)


@dataclass(frozen=True, slots=True)
class ClientContext:
    """What the coder knows of the client's last turn.

    ``stems`` are its content-word stems (what a reflection gives back),
    ``all_stems`` every word's stem (to tell whether a feeling word is new).
    """

    text: str
    stems: frozenset[str]
    all_stems: frozenset[str]
    asked_question: bool

    @classmethod
    def of(cls, client_text: str | None) -> ClientContext | None:
        if client_text is None or not client_text.strip():
            return None
        normalised = normalise(client_text)
        # Each distinct word stemmed once: a reply's ~300 words are ~100 distinct ones.
        stems = {word: stem(word) for word in set(words(normalised))}
        return cls(
            normalised,
            frozenset(s for word, s in stems.items() if word not in STOPWORDS),
            frozenset(stems.values()),
            client_text.rstrip().endswith("?"),
        )
