"""The persona checks split a reply into sentences with a pattern that starts at the end
mark (fast: re skips to the next . ! or ?); it must split exactly where the plain
definition, a lookbehind split, does: after . ! or ? and any closing quotes or brackets
before a space, or at a line break, each piece keeping its end mark."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from llm.integrity import _sentences

_DEFINITION = re.compile(r"(?<=[.!?])[\"')\]*]*\s+|\s*\n+\s*")


def reference(text: str) -> list[str]:
    return [piece for piece in _DEFINITION.split(text.strip()) if piece.strip()]


_PIECES = ["I", "am", "Sam", " ", "  ", ".", "!", "?", "...", '"', "'", ")", "]", "*", "\n",
           "\n\n", "\t", "\r", "\u00a0", "\u2003", "\x85", "\x1c", "ok."]  # fmt: skip


@settings(max_examples=1000, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(_PIECES), max_size=25))
def test_splits_where_the_lookbehind_splits(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert _sentences(text) == reference(text)


def test_examples() -> None:
    assert _sentences('  Fine. "Really?" he said!  No\n\nmore  ') == [
        "Fine.",
        '"Really?',
        "he said!",
        "No",
        "more",
    ]
    assert _sentences("no end mark at all ") == ["no end mark at all"]
    assert _sentences(" \n ") == []
    assert _sentences("Wait...what? Ok.") == ["Wait...what?", "Ok."]
