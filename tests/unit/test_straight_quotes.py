"""``straight_quotes`` (one in ``skills.text``, one in ``llm.integrity_facts``: the two
packages know nothing of each other) says exactly what the ``str.translate`` it replaced
said, on any text, curly quotes and other non-ASCII marks among it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from llm.integrity_facts import straight_quotes as llm_straight_quotes
from skills.text import straight_quotes as skills_straight_quotes

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
TEXTS = st.text(
    alphabet=st.sampled_from(["a", "I", " ", "'", '"', "\u2019", "\u2018", "\u201c", "\u201d"])
    | st.characters()
)


@given(TEXTS)
def test_straight_quotes_is_the_translation(text: str) -> None:
    assert llm_straight_quotes(text) == text.translate(_QUOTES)
    assert skills_straight_quotes(text) == text.translate(_QUOTES)


def test_a_reply_with_curly_quotes_and_marks() -> None:
    said = "I\u2019m \u201cfine\u201d \u27e61@2\u27e7 \u2018really\u2019"
    assert llm_straight_quotes(said) == "I'm \"fine\" \u27e61@2\u27e7 'really'"
    assert skills_straight_quotes("plain ascii") == "plain ascii"
