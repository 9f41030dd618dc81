"""Prefiltered: the strings every match needs, and a search skipped only where no match
could be. Soundness is checked against the real patterns: texts hypothesis builds to hold
a match of each (``from_regex``) must always be let through."""

from __future__ import annotations

import re
import types

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import llm.integrity as integrity
import llm.scripted_moves as scripted_moves
import skills.phrases as phrases
import skills.utterance as utterance
from textprep.prefilter import Prefiltered, required


@pytest.mark.parametrize(
    ("pattern", "flags", "needles"),
    [
        (r"\bgo ahead\b", 0, {"go ahead"}),
        (r"\bas an? (ai|bot)\b", 0, {"as a"}),  # the longest run outside the group
        (r"\bi (hearing|sense) you\b", 0, {"hearing", "sense"}),  # the group beats " you"
        (r"\bi (hear|sense) you\b", 0, {" you"}),  # as long, and one string to look for
        (r"\bhow (can|may) i\b|\bsystem prompt\b", 0, {"how ", "system prompt"}),
        (r"(very )?tired", 0, {"tired"}),  # an optional group requires nothing
        (r"(ha)+ha!", 0, {"ha!"}),
        (r"(hello)+", 0, {"hello"}),  # taken at least once
        (r"well[.!] then", 0, {" then"}),  # a class between literals ends a run
        (r"well\b then", 0, {"well then"}),  # a zero-width assertion does not
        (r"Go Ahead", re.IGNORECASE | re.ASCII, {"go ahead"}),  # lowered, as the text will be
    ],
)
def test_the_strings_a_match_needs(pattern: str, flags: int, needles: set[str]) -> None:
    assert required(pattern, flags) == frozenset(needles)


@pytest.mark.parametrize(
    ("pattern", "flags"),
    [
        (r"\bgo ahead\b", re.IGNORECASE),  # Unicode folding: "K" (Kelvin) matches "k"
        (r"(?i:go ahead)", 0),  # flags changed inside
        (r"[a-z]+ed", 0),  # "ed" is too short to be worth a look
        (r"yes|[0-9]+", 0),  # a branch that needs nothing
        (r"(?<=please )go", 0),  # a lookbehind's text is not consumed: not counted
        (r"(", 0),  # not a pattern: searched (and refused) as it is
    ],
)
def test_what_it_cannot_reason_about_requires_nothing(pattern: str, flags: int) -> None:
    assert required(pattern, flags) is None


def test_a_text_without_the_needed_strings_is_not_scanned() -> None:
    ai = integrity._AI
    assert isinstance(ai, Prefiltered)
    assert not ai.may_match("well i suppose it started when the job ended")
    assert ai.search("well, as an ai i cannot") is not None
    assert ai.search("i do not have a body") is not None
    assert list(ai.finditer("nothing here")) == [] and ai.match("nothing here") is None


#: Words long enough to be looked for, and what breaks or joins them.
_PIECES = st.sampled_from(["cat", "dog", "bird", "the ", "[ab]", ".", r"\b", r"\s", "a"])


def _made_of(parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.lists(parts, min_size=2, max_size=5).map("".join),
        st.lists(parts, min_size=2, max_size=3).map(lambda xs: "(" + "|".join(xs) + ")"),
        parts.map(lambda x: f"(?:{x})?"),
        parts.map(lambda x: f"(?:{x})+"),
        parts.map(lambda x: f"(?:{x}){{2}}"),
    )


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.recursive(_PIECES, _made_of, max_leaves=10), st.data())
def test_any_pattern_lets_every_text_holding_a_match_through(
    pattern: str, data: st.DataObject
) -> None:
    prefiltered = Prefiltered(pattern)
    text = data.draw(st.from_regex(prefiltered.pattern))
    if prefiltered.pattern.search(text) is not None:
        assert prefiltered.may_match(text), (pattern, text, required(pattern))


def _patterns_of(*modules: types.ModuleType) -> list[tuple[str, str, int]]:
    found = []
    for module in modules:
        for name, value in sorted(vars(module).items()):
            if isinstance(value, Prefiltered):
                value = value.pattern
            if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
                found.append((f"{module.__name__}.{name}", value.pattern, value.flags))
    return found


PATTERNS = _patterns_of(integrity, phrases, utterance, scripted_moves)
# The persona's name is spliced into this one.
PATTERNS.append(("llm.integrity._narrating", integrity._narrating("sam").pattern.pattern, 0))


def test_the_product_s_patterns_are_checked() -> None:
    assert len(PATTERNS) >= 40
    assert sum(required(p, f) is not None for _, p, f in PATTERNS) >= 20


@pytest.mark.parametrize(("name", "pattern", "flags"), PATTERNS, ids=[p[0] for p in PATTERNS])
def test_every_text_holding_a_match_is_let_through(name: str, pattern: str, flags: int) -> None:
    compiled, prefiltered = re.compile(pattern, flags), Prefiltered(pattern, flags)

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.from_regex(compiled), st.text(max_size=20), st.text(max_size=20))
    def holds_a_match(inner: str, before: str, after: str) -> None:
        text = before + inner + after
        found = compiled.search(text)
        if found is not None:
            assert prefiltered.may_match(text), (name, text)
        ours = prefiltered.search(text)
        assert (ours is None) == (found is None)
        if ours is not None and found is not None:
            assert ours.span() == found.span()

    holds_a_match()
