"""The third-person check returns at once when the reply does not hold the persona's name
(most replies: clients seldom say their own name). That shortcut must find exactly what
the plain definition, a scan of every sentence of every reply, finds."""

from __future__ import annotations

import re
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from llm.base import Persona
from llm.integrity import _NAMING, _THE_CLIENT, _sentences, _third_person, _unquoted, _verb_like
from tests.llm.test_llm_integrity import SAM
from textprep import straight_quotes


def reference(reply: str, persona: Persona) -> str | None:
    """The check as it was before the shortcut."""
    if match := _THE_CLIENT.search(reply):
        return f"talks about itself in the third person: {match.group(0)!r}"
    first = persona.name.split()[0] if persona.name.strip() else ""
    names = sorted({re.escape(n) for n in (persona.name.strip(), first) if n}, key=len)[::-1]
    if not names:
        return None
    subject = re.compile(rf"(?<![\w'])(?:{'|'.join(names)})(?:('s)\b|\s*(:)|\s+([\w']+))")
    for sentence in _sentences(_unquoted(straight_quotes(reply))):
        if _NAMING.search(sentence):
            continue
        for match in subject.finditer(sentence):
            possessive, label, after = match.groups()
            label_at_start = label is not None and match.start() == 0
            if possessive or label_at_start or (after is not None and _verb_like(after)):
                return f"talks about itself in the third person: {match.group(0).strip()!r}"
    return None


_NAMES = ["Sam Taylor", "Sam", "Ai", "Jo O'Brien", "Jo O\u2019Brien", "  ", ""]
_PIECES = ["Sam", "Taylor", "Sam Taylor", "Ai", "Jo", "O'Brien", "O\u2019Brien", "'s", ":",
           " ", ". ", "\n", '"', "'", "\u201c", "\u201d", "\u2019", "feels", "sighs", "is",
           "named", "my", "the client", "The Client", "was", "walks", "I"]  # fmt: skip


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(st.sampled_from(_NAMES), st.lists(st.sampled_from(_PIECES), max_size=20))
def test_finds_what_the_full_scan_finds(name: str, pieces: list[str]) -> None:
    persona = replace(SAM, name=name)
    reply = "".join(pieces)
    assert _third_person(reply, persona) == reference(reply, persona)


def test_examples() -> None:
    assert _third_person("I keep to myself mostly.", SAM) is None
    assert _third_person("Sam sighs. Whatever.", SAM) == (
        "talks about itself in the third person: 'Sam sighs'"
    )
    o_brien = replace(SAM, name="Jo O'Brien")
    assert _third_person("Jo O\u2019Brien is tired.", o_brien) is not None  # quotes straightened
