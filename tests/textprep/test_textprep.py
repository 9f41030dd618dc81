"""``textprep``: ``straight_quotes`` says exactly what the ``str.translate`` it replaced
said, on any text; ``spell_out`` spells, a word at a time, what each reader's contraction
pattern over the whole text spells (the persona checks' and the coder's), glued pieces and
Unicode whitespace included."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm import integrity_facts
from skills import text as coder_text
from tests.llm.test_integrity_normalise import PIECES as PERSONA_PIECES
from tests.skills.test_text_normalise import PIECES as CODER_PIECES
from textprep import spell_out, straight_quotes

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
TEXTS = st.text(
    alphabet=st.sampled_from(["a", "I", " ", "'", '"', "\u2019", "\u2018", "\u201c", "\u201d"])
    | st.characters()
)


@given(TEXTS)
def test_straight_quotes_is_the_translation(text: str) -> None:
    assert straight_quotes(text) == text.translate(_QUOTES)


def test_a_reply_with_curly_quotes_and_marks() -> None:
    said = "I\u2019m \u201cfine\u201d \u27e61@2\u27e7 \u2018really\u2019"
    assert straight_quotes(said) == "I'm \"fine\" \u27e61@2\u27e7 'really'"
    assert straight_quotes("plain ascii") == "plain ascii"


Spelled = Callable[[re.Match[str]], str]
READERS: dict[str, tuple[re.Pattern[str], Spelled, list[str]]] = {
    "persona checks": (integrity_facts._CONTRACTION, integrity_facts._spelled, PERSONA_PIECES),
    "coder": (coder_text._CONTRACTION, coder_text._spelled, CODER_PIECES),
}
# Any whitespace, or none: the pieces glued, and the spaces str.split and re's \s both know
# beyond ASCII (no-break, em, next-line, file separator).
_ANY_GAP = st.sampled_from(["", " ", "\n", "\t", "\u00a0", "\u2003", "\x85", "\x1c", ".", ","])


@pytest.mark.parametrize("reader", sorted(READERS))
@settings(max_examples=400, deadline=None, derandomize=True)
@given(data=st.data())
def test_a_word_at_a_time_spells_what_one_pass_over_the_text_spells(
    reader: str, data: st.DataObject
) -> None:
    pattern, spelled, pieces = READERS[reader]
    drawn = data.draw(st.lists(st.tuples(st.sampled_from(pieces), _ANY_GAP), max_size=30))
    lowered = "".join(piece + gap for piece, gap in drawn).lower()
    whole = pattern.sub(spelled, lowered)
    assert spell_out(lowered, pattern, spelled) == re.sub(r"\s+", " ", whole).strip()


def test_examples() -> None:
    pattern, spelled, _ = READERS["persona checks"]
    assert spell_out("  i can't\u00a0\nsay n't\t'll  ", pattern, spelled) == (
        "i can not say not will"
    )
    assert spell_out(" no\tapostrophe  here ", pattern, spelled) == "no apostrophe here"
