"""``normalise`` spells contractions in one pass; it must say exactly what the ten passes
it replaced said (kept here as the reference), on texts dense with apostrophes, curly
quotes, "cannot" and the subjects of "'s", their words apart. (Glued together the two
differ, and neither reads it as a person would: ten passes turned "let'sn't" into
"let us not" because the "n't" pass made room for "let's" to end.)"""

from __future__ import annotations

import re

from hypothesis import given, settings

from llm.integrity_facts import normalise
from tests.support.spelling import spaced_texts

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
_TEN_PASSES = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"\bcan't\b|\bcannot\b", "can not"), (r"\bwon't\b", "will not"), (r"n't\b", " not"),
        (r"\blet's\b", "let us"), (r"\bi'm\b", "i am"), (r"'re\b", " are"), (r"'ve\b", " have"),
        (r"'ll\b", " will"), (r"'d\b", " would"),
        (r"\b(it|that|what|here|there|he|she|who|everything)'s\b", r"\1 is"),
    )
)  # fmt: skip


def reference(text: str) -> str:
    lowered = text.translate(_QUOTES).lower()
    for pattern, replacement in _TEN_PASSES:
        lowered = pattern.sub(replacement, lowered)
    return re.sub(r"\s+", " ", lowered).strip()


PIECES = [
    "can't", "Can\u2019t", "cannot", "won't", "don't", "isn't", "let's", "I'm", "i\u2019m",
    "we're", "they've", "you'll", "he'd", "it's", "That's", "what's", "here's", "there's",
    "she's", "who's", "everything's", "Sam's", "'s", "n't", "'", "\u2018quoted\u2019",
    "\u201chi\u201d", "scan't", "cannoted", "won'tx", "a", "It", " ", "\n", "\t", ".", "!",
    "\u00e9t\u00e9", "x'd", "'re", "'ll",
]  # fmt: skip


@settings(max_examples=400, deadline=None, derandomize=True)
@given(spaced_texts(PIECES))
def test_one_pass_says_what_ten_passes_said(text: str) -> None:
    assert normalise(text) == reference(text)


def test_examples() -> None:
    assert normalise("I can\u2019t  say it's   what I'm  after, cannot.") == (
        "i can not say it is what i am after, can not."
    )
    assert normalise("They won't. We'd've") == "they will not. we would have"
