"""Choosing the words: one alternative per slot, never a reply said before.

A reply is planned as slots (a lead, the content, a tail...), each with
alternatives. :func:`pick` takes the combination that repeats the fewest
sentences the client has already said, preferring the best-ranked content, and
never one whose whole text was already said in the session. When every
combination has been used, filler slots are added until a new one exists.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from llm.scripted_text import said_key, sentences

# Alternatives tried per slot, and combinations scored per reply: 6 slots of 5 are
# 15,625 combinations, ~30 ms; a fresh reply is usually found in the first few.
MAX_ALTERNATIVES = 5
MAX_COMBINATIONS = 4_000

# Said when every combination of the planned slots has been used (a very long session).
_FILLERS = (
    "I don't know.",
    "Anyway.",
    "It's hard to explain.",
    "I keep going round in circles.",
    "That's how it is, really.",
    "Sorry.",
    "It's a lot.",
    "Yeah.",
)


@dataclass(frozen=True, slots=True)
class Slot:
    """One part of a reply and its alternatives ("" leaves the part out).

    ``ranked`` alternatives are best first (content chosen by relevance); the
    others are shuffled by the conversation's seed.
    """

    alternatives: tuple[str, ...]
    ranked: bool = False


@dataclass(slots=True)
class Memory:
    """What the client has already said in this session."""

    replies: frozenset[str]
    sentences: frozenset[str]
    #: Every client turn's words, to find a fact told inside a longer reply.
    text: str
    _stale: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, client_turns: Iterable[str]) -> Memory:
        turns = list(client_turns)
        said_sentences = {said_key(s) for turn in turns for s in sentences(turn)}
        return cls(
            frozenset(said_key(turn) for turn in turns),
            frozenset(said_sentences),
            " | ".join(said_key(turn) for turn in turns),
        )

    def times_said(self, text: str) -> int:
        """How many times ``text`` was said, alone or inside a longer turn."""
        key = said_key(text)
        return self.text.count(key) if key else 0

    def stale(self, part: str) -> int:
        """How many sentences of ``part`` were already said."""
        if part not in self._stale:
            self._stale[part] = sum(1 for s in sentences(part) if said_key(s) in self.sentences)
        return self._stale[part]


def pick(slots: list[Slot], memory: Memory, rng: random.Random) -> str:
    """The reply: one alternative per slot, never a whole reply already said. Never raises."""
    planned = list(slots)
    for _ in range(4):
        text = _best(planned, memory, rng)
        if text is not None:
            return text
        fillers = list(_FILLERS)
        rng.shuffle(fillers)
        planned.append(Slot(tuple(fillers)))
    # Unreachable in practice (8**4 filler combinations on top of the plan): number it.
    return join([_best(slots, memory, rng) or "", f"({len(memory.replies)})"])


def _best(slots: list[Slot], memory: Memory, rng: random.Random) -> str | None:
    options: list[list[str]] = []
    for slot in slots:
        alternatives = list(dict.fromkeys(slot.alternatives)) or [""]
        if not slot.ranked:
            rng.shuffle(alternatives)
        options.append(alternatives[:MAX_ALTERNATIVES])
    best: tuple[int, int] | None = None
    chosen: str | None = None
    combinations = itertools.product(*(range(len(option)) for option in options))
    for combination in itertools.islice(combinations, MAX_COMBINATIONS):
        parts = [options[index][choice] for index, choice in enumerate(combination)]
        text = join(parts)
        if not text or said_key(text) in memory.replies:
            continue
        rank = sum(choice for slot, choice in zip(slots, combination, strict=True) if slot.ranked)
        score = (sum(memory.stale(part) for part in parts), rank)
        if best is None or score < best:
            best, chosen = score, text
            if score == (0, 0):
                break
    return chosen


_LOWER_AFTER = re.compile(r"(,|\.\.\.)$")


def join(parts: Iterable[str]) -> str:
    """Parts as one reply: single spaces, and a lower-case start after "," or "..."."""
    text = ""
    for part in (p.strip() for p in parts):
        if not part:
            continue
        if text and _LOWER_AFTER.search(text) and not part.startswith(("I ", "I'", "I.")):
            part = part[:1].lower() + part[1:]
        text = f"{text} {part}" if text else part
    return text
