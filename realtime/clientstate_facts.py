"""The disclosure gate: when a hidden fact unlocks, and when a reply has told it (pure).

Each hidden fact of the profile is ``locked`` (never in a prompt), ``unlocked`` (in the
prompt: the model may tell it when it fits) or ``disclosed`` (a reply told it; the prompt
says so). Transitions only go forward, one step at a time, and raise on misuse: a locked
fact cannot be disclosed (no prompt ever held it), and nothing re-locks.

**Unlock rule**, checked after each student turn, against the trust after that turn:

- trust >= the fact's ``trust_needed`` and the conversation touches the fact's topics, or
- trust >= ``trust_needed`` + :data:`UNLOCK_MARGIN`, whatever is being talked about;
- never on a turn that probes for secrets (:attr:`skills.TurnCode.asks_about_secrets`),
  and at most one fact per turn, the first in the profile's order
  (:data:`UNLOCKS_PER_TURN`): the client lets things out one at a time.

"The conversation touches a topic": every content stem of one of the fact's topics (so
"care home" needs both words) is among the stems of the last :data:`TOPIC_WINDOW_TURNS`
student turns and the client words each answered (case, inflection and person do not
matter: :func:`llm.integrity_facts.content_stems`). A fact without topics (profiles that
store plain strings) is touched when the window shares words weighing at least
:data:`FALLBACK_TOPIC_WEIGHT` with its note or disclosure line: one specific word
("funeral"), or two everyday ones ("father" and "month").

**Disclosure**: a reply tells an unlocked fact by :func:`llm.integrity_facts.mentions_fact`,
the rule by which the persona checks flag a locked fact that leaks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from llm.base import HiddenFact
from llm.integrity_facts import content_stems, mentions_fact, stem_weight

__all__ = [
    "FALLBACK_TOPIC_WEIGHT",
    "TOPIC_WINDOW_TURNS",
    "UNLOCKS_PER_TURN",
    "UNLOCK_MARGIN",
    "FactState",
    "FactStatus",
    "detect_disclosure",
    "touched_topic",
    "unlock_reason",
]

#: Far enough above the threshold, the client brings it up unprompted: 20 points is two or
#: three good turns past the threshold at difficulty 3, so it is earned, not stumbled on.
UNLOCK_MARGIN = 20
#: A topic raised two turns ago is still the topic; older than that the talk has moved on.
TOPIC_WINDOW_TURNS = 3
#: One specific word, or two everyday ones (see :mod:`llm.integrity_facts`).
FALLBACK_TOPIC_WEIGHT = 2
UNLOCKS_PER_TURN = 1


class FactStatus(StrEnum):
    LOCKED = "locked"
    UNLOCKED = "unlocked"
    DISCLOSED = "disclosed"


@dataclass(frozen=True, slots=True)
class FactState:
    """One hidden fact and how far it has come out."""

    fact: HiddenFact
    status: FactStatus = FactStatus.LOCKED
    #: The seq of the student turn that unlocked it (None if locked, or if it was resumed
    #: from a ``client.state`` event, which does not record it).
    unlocked_seq: int | None = None
    #: The seq of the reply that told it.
    disclosed_seq: int | None = None

    def unlock(self, seq: int) -> FactState:
        """Raises ValueError unless locked."""
        if self.status is not FactStatus.LOCKED:
            raise ValueError(f"cannot unlock a fact that is {self.status}")
        return replace(self, status=FactStatus.UNLOCKED, unlocked_seq=seq)

    def disclose(self, seq: int) -> FactState:
        """Raises ValueError if locked; a fact already disclosed keeps its first seq."""
        if self.status is FactStatus.LOCKED:
            raise ValueError("a locked fact was never in a prompt, so it cannot be disclosed")
        if self.status is FactStatus.DISCLOSED:
            return self
        return replace(self, status=FactStatus.DISCLOSED, disclosed_seq=seq)


def touched_topic(fact: HiddenFact, window: frozenset[str]) -> str | None:
    """The topic of ``fact`` that the window's stems touch (words, for the reason), or None."""
    topics = [(topic, content_stems(topic)) for topic in fact.topics]
    topics = [(topic, stems) for topic, stems in topics if stems]
    if topics:
        return next((topic for topic, stems in topics if stems <= window), None)
    for version in (fact.fact, fact.disclosure):
        shared = content_stems(version) & window
        if stem_weight(shared) >= FALLBACK_TOPIC_WEIGHT:
            return " ".join(sorted(shared))
    return None


def unlock_reason(fact: HiddenFact, trust: int, window: frozenset[str]) -> str | None:
    """Why ``fact`` unlocks at ``trust`` with the window's stems, or None if it does not.
    The caller checks the fact is locked and the turn is not a probe."""
    needed = fact.trust_needed
    if trust >= needed + UNLOCK_MARGIN:
        return f"trust {trust}, at least {UNLOCK_MARGIN} above the {needed} it needs"
    if trust >= needed and (topic := touched_topic(fact, window)) is not None:
        return f"trust {trust} (needs {needed}) and the talk touched {topic!r}"
    return None


def detect_disclosure(fact: HiddenFact, reply_text: str) -> bool:
    """Whether a client reply told ``fact`` (any person: "their father" or "my dad")."""
    return mentions_fact(fact, reply_text)
