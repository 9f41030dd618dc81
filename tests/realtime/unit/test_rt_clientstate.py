"""The live client state without I/O: the trust rule with its numbers, the bounds, the
observers' event, resuming and replaying. The disclosure gate: ``test_rt_clientstate_gate``."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realtime import clientstate_trust
from realtime.clientstate import (
    TRUST_HISTORY_LIMIT,
    apply_turn,
    note_reply,
    replay,
    resume,
    start,
    to_event,
)
from realtime.clientstate_facts import FactStatus
from realtime.clientstate_trust import (
    STARTING_TRUST,
    TRUST_MAX,
    TRUST_MIN,
    TrustFactor,
    points,
    score,
)
from realtime.events import FactStateName, decode_event, payload_json
from skills import Behaviour, Flag, QuestionKind, ReflectionKind, Role, TurnCode
from tests.realtime.unit.clientstate_support import (
    CLOSED,
    COMPLEX,
    FATHER,
    JUDGEMENT,
    NEUTRAL,
    OPEN,
    POLICE,
    PROBE,
    SIMPLE,
    TRANSCRIPT,
    at,
    code,
)


def texts(turn: TurnCode, difficulty: int = 3, streak: int = 0) -> list[str]:
    return [r.text for r in score(turn, difficulty=difficulty, closed_streak=streak)]


# ---------------------------------------------------------------- the trust rule


def test_the_docstring_tables_are_the_constants() -> None:
    doc = clientstate_trust.__doc__ or ""
    for factor in TrustFactor:
        row = re.search(rf"^{re.escape(factor)} +([-+]\d+)  ", doc, re.MULTILINE)
        assert row is not None and int(row.group(1)) == clientstate_trust.BASE_POINTS[factor]
        by_level = " ".join(f"{points(factor, level):+d}" for level in range(1, 6))
        assert re.search(rf"^{re.escape(factor)} +{re.escape(by_level).replace(' ', ' +')}$",
                         doc, re.MULTILINE), factor  # fmt: skip
    starting = " +".join(str(STARTING_TRUST[level]) for level in range(1, 6))
    assert re.search(rf"^starting trust +{starting}$", doc, re.MULTILINE)


@pytest.mark.parametrize(("difficulty", "trust"), [(1, 40), (3, 28), (5, 15), (0, 40), (9, 15)])
def test_trust_starts_by_difficulty_clamped_to_1_to_5(difficulty: int, trust: int) -> None:
    assert start((), difficulty=difficulty).trust == trust


@pytest.mark.parametrize(
    ("turn", "expected"),
    [
        (OPEN, ["open question +2"]),
        (SIMPLE, ["simple reflection +3"]),
        (COMPLEX, ["complex reflection +6"]),
        (code(Behaviour.REFLECTION, None, ReflectionKind.COMPLEX, Flag.SUMMARY, Flag.EMPATHY),
         ["complex reflection +6", "summary +2", "empathy +4"]),
        (code(Behaviour.OTHER, None, None, Flag.AFFIRMATION), ["affirmation +3"]),
        (code(Behaviour.INPUT, None, None, Flag.ADVICE_WITHOUT_PERMISSION),
         ["advice without permission -6"]),
        (JUDGEMENT, ["judgement -10"]),
        (PROBE, ["probing for secrets -8"]),  # no open-question credit for a probe
        (code(Behaviour.QUESTION, QuestionKind.OPEN, None, Flag.JUDGEMENT), ["judgement -10"]),
        (CLOSED, []),
        (NEUTRAL, []),
    ],
)  # fmt: skip
def test_each_factor_scores_its_points_at_difficulty_3(turn: TurnCode, expected: list[str]) -> None:
    assert texts(turn) == expected


def test_the_third_closed_question_in_a_row_and_each_after_lowers_trust() -> None:
    state = start((), difficulty=3)
    seen = []
    for seq, question in enumerate(["Do you drink?", "Every day?", "Beer?", "Alone?"], 1):
        state, change = apply_turn(state, question, "Yes.", seq=seq)
        seen.append((state.trust, change.texts))
    assert seen == [
        (28, ()),
        (28, ()),
        (25, ("third closed question in a row -3",)),
        (22, ("fourth closed question in a row -3",)),
    ]
    state, _ = apply_turn(state, "What is a typical evening like?", "Hm.", seq=5)
    assert state.closed_streak == 0
    state, change = apply_turn(state, "Do you go out?", "No.", seq=6)
    assert change.reasons == ()


def test_a_closed_question_after_a_reflection_in_the_same_turn_is_not_interrogating() -> None:
    assert not clientstate_trust.is_closed_question(
        code(Behaviour.QUESTION, QuestionKind.CLOSED, ReflectionKind.SIMPLE)
    )


def test_harder_clients_gain_less_and_lose_more() -> None:
    assert texts(JUDGEMENT, difficulty=1) == ["judgement -5"]
    assert texts(JUDGEMENT, difficulty=5) == ["judgement -15"]
    assert texts(COMPLEX, difficulty=1) == ["complex reflection +9"]
    assert texts(COMPLEX, difficulty=5) == ["complex reflection +3"]
    for factor in TrustFactor:
        steps = [points(factor, level) for level in range(1, 6)]
        assert steps == sorted(steps, reverse=True), factor  # down the scale, always
        assert all(step != 0 for step in steps)


def test_the_live_coder_scores_real_turns() -> None:
    state = start((), difficulty=3)
    said = "I have been drinking more since my dad died."
    state, change = apply_turn(
        state, "It sounds like you're carrying a lot of grief since your dad died.", said, seq=1
    )
    assert change.texts == ("complex reflection +6", "empathy +4")
    state, change = apply_turn(state, "You're being irresponsible.", said, seq=2)
    assert change.texts == ("judgement -10",)
    assert (change.before, change.after, change.delta) == (38, 28, -10)


TURN_CODES = st.sampled_from(
    [
        NEUTRAL, OPEN, CLOSED, SIMPLE, COMPLEX, JUDGEMENT, PROBE,
        code(Behaviour.REFLECTION, None, ReflectionKind.COMPLEX, Flag.SUMMARY, Flag.EMPATHY,
             Flag.AFFIRMATION),
        code(Behaviour.INPUT, None, None, Flag.ADVICE_WITHOUT_PERMISSION, Flag.JUDGEMENT),
    ]
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.integers(-3, 9), st.lists(TURN_CODES, max_size=60))
def test_trust_stays_within_0_and_100_and_moves_by_its_reasons(
    difficulty: int, turns: list[TurnCode]
) -> None:
    state = start((FATHER, POLICE), difficulty=difficulty)
    for seq, turn in enumerate(turns, 1):
        before = state.trust
        state, change = apply_turn(state, "", None, seq=seq, code=turn)
        assert TRUST_MIN <= state.trust <= TRUST_MAX
        assert change.delta == state.trust - before
        unclamped = before + sum(r.points for r in change.reasons)
        assert state.trust == min(TRUST_MAX, max(TRUST_MIN, unclamped))
    assert len(state.history) == len(turns)


def test_a_seq_already_applied_changes_nothing() -> None:
    state, _ = apply_turn(start((FATHER,), difficulty=3), "", None, seq=5, code=COMPLEX)
    again, change = apply_turn(state, "", None, seq=5, code=COMPLEX)
    assert again is state and change.reasons == () and change.delta == 0
    assert note_reply(state, "My dad died.", seq=4) == (state, None)


def test_the_history_keeps_the_last_500_changes() -> None:
    state = start((), difficulty=3)
    for seq in range(1, TRUST_HISTORY_LIMIT + 21):
        state, _ = apply_turn(state, "", None, seq=seq, code=OPEN)
    assert len(state.history) == TRUST_HISTORY_LIMIT
    assert state.history[0].after_seq == 21 and state.history[-1].after_seq == 520


# ---------------------------------------------------------------- events, resume, replay


def test_the_event_carries_trust_reasons_and_facts_and_survives_the_log() -> None:
    talk = "It sounds like the funeral still weighs on you."
    state, change = apply_turn(at(34, FATHER, POLICE), talk, None, seq=7, code=COMPLEX)
    event = to_event(state, change)
    assert (event.seq, event.trust, event.delta, event.after_seq) == (0, 40, 6, 7)
    assert event.reasons == (
        "complex reflection +6",
        "fact 1 unlocked: trust 40 (needs 40) and the talk touched 'funeral'",
    )
    assert [(f.index, f.fact, f.state, f.disclosed_seq) for f in event.facts] == [
        (0, FATHER.fact, "unlocked", None),
        (1, POLICE.fact, "locked", None),
    ]
    assert decode_event(payload_json(event), 12) == event.model_copy(update={"seq": 12})
    assert to_event(state).delta == 0 and to_event(state).reasons == ()


def test_fact_statuses_are_the_protocols_fact_states() -> None:
    assert {s.value for s in FactStatus} == set(get_args(FactStateName))


def test_replay_equals_the_live_calls_and_is_deterministic() -> None:
    live = start((FATHER, POLICE), difficulty=2)
    client: str | None = None
    for turn in TRANSCRIPT:
        if turn.role is Role.CLIENT:
            client = turn.text
            live, _ = note_reply(live, turn.text, seq=turn.seq)
        else:
            live, _ = apply_turn(live, turn.text, client, seq=turn.seq)
    replayed = replay((FATHER, POLICE), difficulty=2, turns=TRANSCRIPT)
    assert replayed == live == replay((FATHER, POLICE), difficulty=2, turns=TRANSCRIPT)
    assert live.facts[0].status is FactStatus.DISCLOSED and live.facts[0].disclosed_seq == 5
    assert live.closed_streak == 2


def test_resume_from_the_last_event_picks_up_where_it_was() -> None:
    live = replay((FATHER, POLICE), difficulty=2, turns=TRANSCRIPT[:-1])
    event = to_event(live, live.history[-1])
    resumed = resume(event, (FATHER, POLICE), difficulty=2, recent=TRANSCRIPT[:-1])
    assert (resumed.trust, resumed.closed_streak, resumed.recent_stems) == (
        live.trust,
        live.closed_streak,
        live.recent_stems,
    )
    assert [(f.status, f.disclosed_seq) for f in resumed.facts] == [
        (f.status, f.disclosed_seq) for f in live.facts
    ]
    assert resumed.last_seq == 7
    _, live_change = apply_turn(live, TRANSCRIPT[-1].text, "Most days.", seq=8)
    _, resumed_change = apply_turn(resumed, TRANSCRIPT[-1].text, "Most days.", seq=8)
    assert live_change == resumed_change  # the streak came back: "third closed question..."


def test_resume_locks_a_fact_the_profile_has_changed_since() -> None:
    live = replace(at(50, FATHER), facts=(start((FATHER,), difficulty=3).facts[0].unlock(1),))
    edited = replace(FATHER, fact="Their father died last spring")
    resumed = resume(to_event(live), (edited, POLICE), difficulty=3)
    assert [f.status for f in resumed.facts] == [FactStatus.LOCKED, FactStatus.LOCKED]
    assert resumed.trust == 50
