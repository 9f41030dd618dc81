"""Texts dense with contractions, for holding a one-pass ``normalise`` to the passes it
replaced: pieces drawn from a list, each followed by a gap (space, line break or
punctuation), so the pieces stay words apart (glued together, a one-pass and a
pass-per-spelling rewrite can differ, and neither reads it as a person would)."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

__all__ = ["spaced_texts"]

_GAPS = st.sampled_from([" ", "  ", "\n", ". ", ", ", "? "])


@st.composite
def _spaced(draw: st.DrawFn, pieces: st.SearchStrategy[str]) -> str:
    words = draw(st.lists(pieces, max_size=30))
    gaps = draw(st.lists(_GAPS, min_size=len(words), max_size=len(words)))
    return "".join(word + gap for word, gap in zip(words, gaps, strict=True))


def spaced_texts(pieces: Sequence[str]) -> st.SearchStrategy[str]:
    return _spaced(st.sampled_from(list(pieces)))
