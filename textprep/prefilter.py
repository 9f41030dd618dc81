"""A regular expression that first asks whether its text holds any string every match
must contain: ``str.__contains__`` over a reply is ~1 us a string, and ``re``'s scan of a
pattern that starts with ``\\b`` and an alternation tries every branch at every position.

The persona checks, the coder's permission search and their like read every finished
reply with such patterns: 40-115 us each over the benchmark's 1,875-character replies,
~0.4 of a reply's 1.2 ms of checks. Most replies hold none of a pattern's required
strings, and then the scan is skipped; otherwise it runs as before.

Sound by construction (:func:`required`): a match consumes each of the pattern's literal
characters at consecutive positions between anything else it consumes (zero-width
assertions such as ``\\b`` consume nothing), so a run of literals in a sequence the match
must pass appears verbatim in the text; an alternation requires one of its branches' own
requirements, a group its contents', a repeat taken at least once its item's. What the
walk cannot reason about (a class, a repeat that may be skipped, a lookaround, a back
reference) requires nothing. A pattern without a useful requirement, or with case-folding
beyond ASCII, is searched as it is.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from typing import Any

__all__ = ["Prefiltered", "required"]

# The parser re.compile itself uses (its names under re since Python 3.11; the old
# top-level ``sre_parse`` warns on import, and the stubs know only that one).
sre_parse: Any = importlib.import_module("re._parser")
sre: Any = importlib.import_module("re._constants")

#: The shortest required string worth a look: a string of one or two characters is in
#: nearly every reply, and checking it would only add to the scan.
SHORTEST_USEFUL = 3

Requirement = frozenset[str] | None


def required(pattern: str, flags: int = 0) -> Requirement:
    """Strings one of which every match of ``pattern`` contains (lower-case when the
    pattern ignores ASCII case), or None when no such set is known or worth a look."""
    if flags & re.IGNORECASE and not flags & re.ASCII:
        return None  # Unicode case folding: "K" (Kelvin) matches "k"
    try:
        parsed = sre_parse.parse(pattern, flags)
    except re.error:
        return None
    found = _of_sequence(list(parsed))
    if found is None or min(map(len, found)) < SHORTEST_USEFUL:
        return None
    return frozenset(s.lower() for s in found) if flags & re.IGNORECASE else found


def _of_sequence(items: list[tuple[Any, Any]]) -> Requirement:
    """The best requirement of a sequence: every part of it is required, one is enough."""
    candidates: list[frozenset[str]] = []
    run: list[str] = []

    def end_run() -> None:
        if run:
            candidates.append(frozenset(("".join(run),)))
            run.clear()

    for op, value in items:
        if op is sre.LITERAL:
            run.append(chr(value))
        elif op is sre.AT:
            continue  # zero-width: the literals around it are still adjacent
        elif op is sre.SUBPATTERN:
            _group, add_flags, del_flags, inner = value
            end_run()
            if add_flags or del_flags:
                return None  # flags changed inside: not reasoned about
            if (found := _of_sequence(list(inner))) is not None:
                candidates.append(found)
        elif op is sre.BRANCH:
            end_run()
            if (found := _of_branches(value[1])) is not None:
                candidates.append(found)
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            least, _most, inner = value
            end_run()
            if least >= 1 and (found := _of_sequence(list(inner))) is not None:
                candidates.append(found)
        else:
            end_run()  # a class, any character, a lookaround, a back reference...
    end_run()
    return max(candidates, key=_worth, default=None)


def _of_branches(branches: list[Any]) -> Requirement:
    found: set[str] = set()
    for branch in branches:
        requirement = _of_sequence(list(branch))
        if requirement is None:
            return None  # a branch that requires nothing: the alternation requires nothing
        found |= requirement
    return frozenset(found)


def _worth(requirement: frozenset[str]) -> tuple[int, int]:
    # The longer its shortest string, the rarer; then the fewer strings, the cheaper.
    return min(map(len, requirement)), -len(requirement)


class Prefiltered:
    """A compiled pattern's ``search``, ``match``, ``finditer`` and ``sub`` over whole
    texts, skipping the scan when the text holds none of :func:`required`'s strings."""

    __slots__ = ("_lower", "_needles", "pattern")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = re.compile(pattern, flags)
        found = required(pattern, flags)
        self._needles = None if found is None else tuple(sorted(found, key=len, reverse=True))
        self._lower = bool(flags & re.IGNORECASE)

    def may_match(self, text: str) -> bool:
        """False only when no match is possible in ``text``."""
        needles = self._needles
        if needles is None:
            return True
        if self._lower:
            text = text.lower()
        return any(needle in text for needle in needles)

    def search(self, text: str) -> re.Match[str] | None:
        return self.pattern.search(text) if self.may_match(text) else None

    def match(self, text: str) -> re.Match[str] | None:
        return self.pattern.match(text) if self.may_match(text) else None

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        return self.pattern.finditer(text) if self.may_match(text) else iter(())

    def __repr__(self) -> str:
        return f"Prefiltered({self.pattern.pattern!r}, needles={self._needles!r})"
