"""The coder's ``normalise`` spells contractions in one pass; it must say exactly what the
eleven passes it replaced said (kept here as the reference), on texts dense with
apostrophes, curly quotes, chat spellings, "cannot" and the subjects of "'s" and "'d",
their words apart (as :mod:`tests.llm.test_integrity_normalise` does for the persona
checks' own normaliser)."""

from __future__ import annotations

import re

from hypothesis import given, settings

from llm.integrity_facts import _stem, content_stems_of
from llm.integrity_facts import _stem_word as facts_memo
from skills.lexicon import CHAT_SPELLINGS
from skills.text import ClientContext, _stem_word, content_stems, normalise, stem
from tests.support.spelling import spaced_texts

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
_CHAT = re.compile(r"\b(" + "|".join(sorted(CHAT_SPELLINGS)) + r")\b")
_ELEVEN_PASSES = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"\bcan't\b|\bcannot\b", "can not"), (r"\bwon't\b", "will not"),
        (r"\bain't\b", "is not"), (r"\blet's\b", "let us"), (r"n't\b", " not"),
        (r"\b(it|that|what|how|there|here|he|she|who|where|everything|nothing)'s\b", r"\1 is"),
        (r"'re\b", " are"), (r"'ve\b", " have"), (r"'ll\b", " will"), (r"\bi'm\b", "i am"),
        (r"\b(i|you|we|they|he|she|it|that)'d\b", r"\1 would"),
    )
)  # fmt: skip


def reference(text: str) -> str:
    lowered = text.translate(_QUOTES).lower()
    lowered = _CHAT.sub(lambda match: CHAT_SPELLINGS[match.group(1)], lowered)
    for pattern, replacement in _ELEVEN_PASSES:
        lowered = pattern.sub(replacement, lowered)
    return re.sub(r"\s+", " ", lowered).strip()


PIECES = [
    "can't", "Can\u2019t", "cannot", "won't", "ain't", "don't", "isn't", "let's", "I'm",
    "i\u2019m", "we're", "they've", "you'll", "he'd", "I'd", "that'd", "who'd", "it's",
    "That's", "how's", "where's", "nothing's", "here's", "there's", "she's", "who's",
    "everything's", "Sam's", "'s", "'d", "n't", "'", "\u2018quoted\u2019", "\u201chi\u201d",
    "scan't", "cannoted", "won'tx", "u", "r", "a", "It", " ", "\n", "\t", ".", "!",
    "\u00e9t\u00e9", "x'd", "'re", "'ll",
]  # fmt: skip


@settings(max_examples=400, deadline=None, derandomize=True)
@given(spaced_texts(PIECES))
def test_one_pass_says_what_eleven_passes_said(text: str) -> None:
    assert normalise(text) == reference(text)


def test_examples() -> None:
    said = (
        "I can't, won't, ain't; let's go. I'm sure it's fine, what's that? He'd've known. "
        "Shouldn't've. who'd say? that'd be nice; nothing's wrong, where's it. They're, "
        "we've, you'll. CANNOT \u2019cause"
    )
    assert normalise(said) == (
        "i can not, will not, is not; let us go. i am sure it is fine, what is that? he "
        "would have known. should not have. who'd say? that would be nice; nothing is "
        "wrong, where is it. they are, we have, you will. can not 'cause"
    )


def test_a_number_is_its_own_stem_and_stays_out_of_the_memo() -> None:
    """Numbers (a reply's times and amounts, the benchmark's stamps) are mostly new: each
    would miss the stem memo and push a word out of it."""
    assert stem("1000") == "1000" and stem("100") == "100"  # not the same stem
    assert stem("drinking") == stem("drinks") == "drink"
    stem("drinks")
    before = _stem_word.cache_info().currsize
    text = " ".join(f"well {n} then {n * 7919} {n * 104729}" for n in range(1000, 1300))
    context = ClientContext.of(text)
    assert context is not None and {"1000", str(1299 * 7919)} <= context.all_stems
    assert {"1000", "1299"} <= content_stems(normalise(text))
    assert _stem_word.cache_info().currsize - before <= 2  # "well" and "then", not 900 numbers


def test_numbers_match_themselves_in_the_persona_checks_stems() -> None:
    assert _stem("1000") == "1000"
    before = facts_memo.cache_info().currsize
    found = content_stems_of([str(n) for n in range(5000, 5500)] + ["drinking"])
    assert "5000" in found and "5499" in found and _stem("drinking") in found
    assert facts_memo.cache_info().currsize - before <= 1
