"""What a worker remembers of each session's client state between says (pure: no I/O).

The state a student turn starts from is the one the session's latest ``client.state``
event describes. A worker that did not publish that event rebuilds it
(:func:`realtime.clientstate.resume`: the event's trust and facts, and the last 10
transcript turns coded again for the closed-question streak and the topic window). The
worker that published it already holds the state: it made it. Kept here, the next say on
that worker starts from it, with no coding at all.

Coding again on every say cost ~5 codings a say (the turns in the resume window), made
cheap by the coder's memo only while every live session's last turns fit in it: at 200
sessions on one worker they did not (~6 keys a session against 1,024 entries, visited in
turn, so the LRU kept none), and resuming took 23% of the worker's CPU (py-spy, S=200,
2026-12-05).

An entry answers only for the event it was published with: the same ``after_seq`` (the
message or reply the change follows, unique in a session's log), the trust and facts that
event shows, and the profile's hidden facts and difficulty unchanged. Anything else (a
say served by another worker, the log lost and reopened, a teacher's edit of the
profile) finds no entry, and the caller resumes from the log as before.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from llm.base import HiddenFact
from realtime.clientstate import ClientState
from realtime.clientstate_trust import clamp_difficulty
from realtime.events import ClientStateEvent
from realtime.recentlog import MAX_SESSIONS

__all__ = ["LiveClientStates"]


@dataclass(frozen=True, slots=True)
class _Held:
    after_seq: int
    state: ClientState


class LiveClientStates:
    """One per worker: per session, the client state this worker last published, at most
    ``max_sessions`` sessions (the least recently used forgotten: resumed if it speaks)."""

    def __init__(self, max_sessions: int = MAX_SESSIONS) -> None:
        self._max = max_sessions
        self._held: OrderedDict[uuid.UUID, _Held] = OrderedDict()

    def remember(
        self,
        session_id: uuid.UUID,
        after_seq: int,
        state: ClientState,
    ) -> None:
        """``state`` was just published as the ``client.state`` following ``after_seq``.
        An older one than held is ignored (a reply's disclosure may be logged before its
        turn's state is remembered)."""
        held = self._held.get(session_id)
        if held is not None and held.after_seq > after_seq:
            return
        self._held[session_id] = _Held(after_seq, state)
        self._held.move_to_end(session_id)
        while len(self._held) > self._max:
            self._held.popitem(last=False)

    def recall(
        self,
        session_id: uuid.UUID,
        event: ClientStateEvent | None,
        facts: Sequence[HiddenFact],
        difficulty: int,
    ) -> ClientState | None:
        """The state ``event`` (the session's latest ``client.state``) describes, if this
        worker published it for the same profile; else None (resume from the log)."""
        held = self._held.get(session_id)
        if held is None or event is None or held.after_seq != event.after_seq:
            return None
        state = held.state
        if (
            state.trust != event.trust
            or state.difficulty != clamp_difficulty(difficulty)
            or not _shows(event, state, facts)
        ):
            return None
        self._held.move_to_end(session_id)
        return state

    def forget(self, session_id: uuid.UUID) -> None:
        self._held.pop(session_id, None)


def _shows(event: ClientStateEvent, state: ClientState, facts: Sequence[HiddenFact]) -> bool:
    """Whether ``event``'s facts are ``state``'s, fact by fact, and ``state``'s are the
    profile's ``facts`` (a profile's facts are stored untold; one that is not finds no
    match, and is resumed)."""
    if not len(event.facts) == len(state.facts) == len(facts):
        return False
    return all(
        view.index == index
        and held.fact == fact
        and view.fact == fact.fact
        and view.state == held.status.value
        and view.disclosed_seq == held.disclosed_seq
        for index, (view, held, fact) in enumerate(
            zip(event.facts, state.facts, facts, strict=True)
        )
    )
