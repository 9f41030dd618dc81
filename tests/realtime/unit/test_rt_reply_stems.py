"""A student turn's topic stems are the stems of its text and of the reply it answers,
taken apart (the reply's memoised, ``clientstate.reply_stems``): the same set as the two
joined by a line break, which is how they were taken before."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from llm.integrity_facts import content_stems
from realtime.clientstate import reply_stems

# Words, contractions, curly quotes and the spacing between them: what could join across
# the break if anything did.
PIECES = st.sampled_from(
    [
        "can", "'t", "n't", "it", "'s", "'ll", "won", "father", "died", "funeral",
        "sleeping", "I'm", "don\u2019t", "\u2018quote\u2019", "cannot", "let's", "'d",
        " ", "\n", ".", ",", "?", "-", "\t", "  ",
    ]
)  # fmt: skip
TEXTS = st.lists(PIECES, max_size=20).map("".join)


@given(TEXTS, TEXTS)
def test_stems_apart_equal_the_stems_joined(student: str, reply: str) -> None:
    assert content_stems(student) | reply_stems(reply) == content_stems(f"{student}\n{reply}")
