"""The virtual client's live state, kept by the app, not the model (pure: no I/O, no clock).

The model never decides how much the client trusts the student or what it may reveal:
the app does, turn by turn, with two rules documented beside their constants:

- **trust** (:mod:`realtime.clientstate_trust`): each student turn is coded by the MITI
  coder of the session report and scored (open questions, reflections, empathy and
  affirmations raise it; a third closed question in a row, judgement, unasked advice and
  probes for secrets lower it), the steps scaled by the profile's difficulty, trust kept
  within 0..100 from a starting value by difficulty (40 at 1 down to 15 at 5);
- **the disclosure gate** (:mod:`realtime.clientstate_facts`): a hidden fact unlocks when
  trust reaches its ``trust_needed`` and the talk touches its topics (or trust is 20 above
  it), never on a probe, one per turn; a reply that tells an unlocked fact marks it
  disclosed.

The app calls :func:`apply_turn` after every student turn and :func:`note_reply` after
every finished reply, puts :func:`unlocked_facts` (never a locked one) in the next prompt,
checks the reply against :func:`locked_facts`, and publishes :func:`to_event` to observers.
Both calls ignore a seq at or below the last one they applied, so a retried call changes
nothing. A worker taking over a session calls :func:`resume` with the last ``client.state``
event; :func:`replay` rebuilds the state from a whole transcript (same text, same state).

The trust history kept here is bounded (:data:`TRUST_HISTORY_LIMIT`); the durable timeline
is the ``client.state`` events in the session log.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import get_args

from llm.base import HiddenFact
from llm.integrity_facts import content_stems
from realtime.clientstate_facts import (
    TOPIC_WINDOW_TURNS,
    UNLOCKS_PER_TURN,
    FactState,
    FactStatus,
    detect_disclosure,
    unlock_reason,
)
from realtime.clientstate_trust import (
    STARTING_TRUST,
    TrustReason,
    clamp_difficulty,
    clamp_trust,
    is_closed_question,
    score,
)
from realtime.events import ClientStateEvent, FactStateName, FactView
from skills import Role, Turn, TurnCode, code_turn

__all__ = [
    "TRUST_HISTORY_LIMIT",
    "ClientState",
    "TrustChange",
    "apply_turn",
    "locked_facts",
    "mark_disclosed",
    "note_reply",
    "replay",
    "reply_stems",
    "resume",
    "start",
    "to_event",
    "unlocked_facts",
]

#: A 60-minute session at one student turn every 10 s is 360 turns: 500 holds the longest
#: session whole, at about 200 bytes a change (100 KB).
TRUST_HISTORY_LIMIT = 500
_STATE_NAMES: dict[str, FactStateName] = {name: name for name in get_args(FactStateName)}


@dataclass(frozen=True, slots=True)
class TrustChange:
    """What one student turn (or one reply) did to the client's state."""

    #: The seq of the student message (or the reply) the change follows.
    after_seq: int
    before: int
    after: int
    reasons: tuple[TrustReason, ...] = ()
    #: Facts unlocked by this turn or disclosed by this reply (indexes into the profile's).
    unlocked: tuple[int, ...] = ()
    disclosed: tuple[int, ...] = ()
    #: Why facts changed, for people ("fact 1 unlocked: trust 52 (needs 50) and ...").
    notes: tuple[str, ...] = ()

    @property
    def delta(self) -> int:
        """``after - before``: the reasons' points, less what the 0..100 bounds cut off."""
        return self.after - self.before

    @property
    def texts(self) -> tuple[str, ...]:
        return tuple(reason.text for reason in self.reasons) + self.notes


@dataclass(frozen=True, slots=True)
class ClientState:
    difficulty: int
    trust: int
    #: One per hidden fact of the profile, in the profile's order.
    facts: tuple[FactState, ...]
    #: Closed questions in a row up to the last student turn.
    closed_streak: int = 0
    #: Content stems of the last few exchanges (student turn + the client words it answered).
    recent_stems: tuple[frozenset[str], ...] = ()
    #: The last trust changes, oldest first, at most :data:`TRUST_HISTORY_LIMIT`.
    history: tuple[TrustChange, ...] = ()
    #: The last seq applied; calls at or below it change nothing.
    last_seq: int = 0


def start(facts: Sequence[HiddenFact], *, difficulty: int) -> ClientState:
    """The state before the first student turn: every fact locked. Difficulty is clamped
    to 1..5; ``disclosed`` flags on ``facts`` are ignored."""
    level = clamp_difficulty(difficulty)
    states = tuple(FactState(replace(fact, disclosed=False)) for fact in facts)
    return ClientState(difficulty=level, trust=STARTING_TRUST[level], facts=states)


def apply_turn(
    state: ClientState,
    student_text: str,
    previous_client_text: str | None,
    *,
    seq: int,
    code: TurnCode | None = None,
) -> tuple[ClientState, TrustChange]:
    """Score one student turn, then unlock at most one fact; the new state and the change.

    ``previous_client_text`` is the client's words the turn answers (None at the start),
    ``code`` the turn's code if the caller already has it (else it is coded here).
    A ``seq`` at or below ``state.last_seq`` returns ``state`` and an empty change.
    """
    if seq <= state.last_seq:
        return state, TrustChange(seq, state.trust, state.trust)
    code = code if code is not None else code_turn(student_text, previous_client_text)
    remembered = _remember(state, code, student_text, previous_client_text)
    reasons = score(code, difficulty=state.difficulty, closed_streak=remembered.closed_streak)
    trust = clamp_trust(state.trust + sum(reason.points for reason in reasons))
    after = replace(remembered, trust=trust, last_seq=seq)
    unlocked: list[int] = []
    notes: list[str] = []
    window = frozenset().union(*after.recent_stems)
    for index, fact in enumerate(after.facts):
        if code.asks_about_secrets or len(unlocked) >= UNLOCKS_PER_TURN:
            break
        why = unlock_reason(fact.fact, trust, window)
        if fact.status is FactStatus.LOCKED and why is not None:
            after = _with_fact(after, index, fact.unlock(seq))
            unlocked.append(index)
            notes.append(f"fact {index + 1} unlocked: {why}")
    change = TrustChange(seq, state.trust, trust, reasons, tuple(unlocked), (), tuple(notes))
    history = (*after.history, change)[-TRUST_HISTORY_LIMIT:]
    return replace(after, history=history), change


def note_reply(
    state: ClientState, reply_text: str, *, seq: int
) -> tuple[ClientState, TrustChange | None]:
    """Mark the unlocked facts that a finished client reply told as disclosed at ``seq``.

    Returns the change (trust unchanged), or None when nothing was disclosed (publish
    nothing then). A ``seq`` at or below ``state.last_seq`` changes nothing.
    """
    if seq <= state.last_seq:
        return state, None
    after = replace(state, last_seq=seq)
    disclosed = tuple(
        index
        for index, fact in enumerate(state.facts)
        if fact.status is FactStatus.UNLOCKED and detect_disclosure(fact.fact, reply_text)
    )
    if not disclosed:
        return after, None
    for index in disclosed:
        after = mark_disclosed(after, index, seq)
    notes = tuple(f"fact {index + 1} disclosed" for index in disclosed)
    return after, TrustChange(seq, state.trust, state.trust, disclosed=disclosed, notes=notes)


def mark_disclosed(state: ClientState, index: int, seq: int) -> ClientState:
    """Fact ``index`` told at ``seq``. Raises IndexError for an unknown index and
    ValueError for a locked fact; a fact already disclosed keeps its first seq."""
    if not 0 <= index < len(state.facts):
        raise IndexError(f"no hidden fact {index} (the profile has {len(state.facts)})")
    return _with_fact(state, index, state.facts[index].disclose(seq))


def unlocked_facts(state: ClientState) -> tuple[HiddenFact, ...]:
    """The facts for the next prompt: unlocked or disclosed (``disclosed=True``), in order.
    A locked fact is never among them."""
    return tuple(
        replace(fact.fact, disclosed=fact.status is FactStatus.DISCLOSED)
        for fact in state.facts
        if fact.status is not FactStatus.LOCKED
    )


def locked_facts(state: ClientState) -> tuple[HiddenFact, ...]:
    """The facts a reply must not tell (for :func:`llm.integrity.check_reply`)."""
    return tuple(fact.fact for fact in state.facts if fact.status is FactStatus.LOCKED)


def to_event(state: ClientState, change: TrustChange | None = None) -> ClientStateEvent:
    """The ``client.state`` event for observers (seq 0: the session log assigns it).
    Without ``change`` it reports the state as it is (delta 0, after_seq 0)."""
    facts = tuple(
        FactView(
            index=index,
            fact=fact.fact.fact,
            state=_STATE_NAMES[fact.status.value],
            disclosed_seq=fact.disclosed_seq,
        )
        for index, fact in enumerate(state.facts)
    )
    if change is None:
        return ClientStateEvent(trust=state.trust, facts=facts)
    return ClientStateEvent(
        trust=state.trust,
        delta=change.delta,
        reasons=change.texts,
        after_seq=change.after_seq,
        facts=facts,
    )


def resume(
    event: ClientStateEvent,
    facts: Sequence[HiddenFact],
    *,
    difficulty: int,
    recent: Sequence[Turn] = (),
) -> ClientState:
    """The state a ``client.state`` event describes, for a worker taking over a session.

    Trust and each fact's status come from ``event``; a fact whose index or text no
    longer matches the profile's starts locked. ``recent`` (the transcript's last turns,
    in order, up to the event) restores the closed-question streak and the topic window;
    they are not scored again. The history starts empty.
    """
    state = start(facts, difficulty=difficulty)
    seen = {view.index: view for view in event.facts}
    states = []
    for index, fact in enumerate(state.facts):
        view = seen.get(index)
        status = FactStatus(view.state) if view is not None else FactStatus.LOCKED
        if view is None or view.fact != fact.fact.fact or status is FactStatus.LOCKED:
            states.append(fact)
        else:
            states.append(replace(fact, status=status, disclosed_seq=view.disclosed_seq))
    state = replace(state, trust=event.trust, facts=tuple(states))
    for turn, context in _answering(recent):
        if turn.role is Role.STUDENT:
            state = _remember(state, code_turn(turn.text, context), turn.text, context)
    return replace(state, last_seq=max(event.after_seq, *(turn.seq for turn in recent), 0))


def replay(facts: Sequence[HiddenFact], *, difficulty: int, turns: Iterable[Turn]) -> ClientState:
    """The state after a whole transcript, as live calls would have left it: each student
    turn is applied against the client's words since the student last spoke."""
    state = start(facts, difficulty=difficulty)
    for turn, context in _answering(turns):
        if turn.role is Role.CLIENT:
            state, _ = note_reply(state, turn.text, seq=turn.seq)
        else:
            state, _ = apply_turn(state, turn.text, context, seq=turn.seq)
    return state


def _answering(turns: Iterable[Turn]) -> Iterator[tuple[Turn, str | None]]:
    """Each turn, with (for a student turn) the client's words it answers: all the client
    said since the student last spoke, as :func:`skills.code_transcript` codes it."""
    client_said: list[str] = []
    last_role: Role | None = None
    for turn in turns:
        if turn.role is Role.CLIENT:
            client_said = [*client_said, turn.text] if last_role is Role.CLIENT else [turn.text]
        last_role = turn.role
        yield turn, " ".join(client_said) if client_said else None


@lru_cache(maxsize=1024)
def reply_stems(client_text: str) -> frozenset[str]:
    """The content stems of a client's reply, which the next student turn's topic window
    takes in: memoised, and made as the reply ends (clientturns.after_reply) rather than on
    the student's say (0.27-0.37 ms for the benchmark's 1,875-character replies)."""
    return content_stems(client_text)


def _remember(
    state: ClientState, code: TurnCode, student_text: str, client_text: str | None
) -> ClientState:
    """The streak and topic window after one more student turn (trust untouched)."""
    streak = state.closed_streak + 1 if is_closed_question(code) else 0
    # The two texts' stems apart equal the stems of the two joined by a line break (no
    # word or contraction spans one); the reply's are memoised (see reply_stems).
    stems = content_stems(student_text) | reply_stems(client_text or "")
    window = (*state.recent_stems, stems)[-TOPIC_WINDOW_TURNS:]
    return replace(state, closed_streak=streak, recent_stems=window)


def _with_fact(state: ClientState, index: int, fact: FactState) -> ClientState:
    facts = (*state.facts[:index], fact, *state.facts[index + 1 :])
    return replace(state, facts=facts)
