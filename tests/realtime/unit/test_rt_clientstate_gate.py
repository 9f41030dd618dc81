"""The disclosure gate without I/O: unlocking needs trust and topic (or the margin), never
on a probe, one a turn; replies that tell a fact, and those that only come near it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from llm.base import HiddenFact
from realtime.clientstate import (
    apply_turn,
    locked_facts,
    mark_disclosed,
    note_reply,
    start,
    unlocked_facts,
)
from realtime.clientstate_facts import UNLOCK_MARGIN, FactStatus, detect_disclosure
from tests.realtime.unit.clientstate_support import CARE_HOME, FATHER, NEUTRAL, PLAIN, POLICE, at

# ---------------------------------------------------------------- the disclosure gate


def test_unlocking_needs_both_trust_and_the_topic() -> None:
    talk = "How was the funeral?"
    low, _ = apply_turn(at(39, FATHER), talk, None, seq=1, code=NEUTRAL)
    off_topic, _ = apply_turn(at(45, FATHER), "How is work?", None, seq=1, code=NEUTRAL)
    both, change = apply_turn(at(40, FATHER), talk, None, seq=1, code=NEUTRAL)
    assert low.facts[0].status is FactStatus.LOCKED
    assert off_topic.facts[0].status is FactStatus.LOCKED
    assert both.facts[0].status is FactStatus.UNLOCKED and both.facts[0].unlocked_seq == 1
    assert change.unlocked == (0,)
    assert change.notes == ("fact 1 unlocked: trust 40 (needs 40) and the talk touched 'funeral'",)


def test_well_above_the_threshold_a_fact_unlocks_without_its_topic() -> None:
    needed = FATHER.trust_needed
    below, _ = apply_turn(at(needed + UNLOCK_MARGIN - 1, FATHER), "Hm.", None, seq=1, code=NEUTRAL)
    above, change = apply_turn(at(needed + UNLOCK_MARGIN, FATHER), "Hm.", None, seq=1, code=NEUTRAL)
    assert below.facts[0].status is FactStatus.LOCKED
    assert above.facts[0].status is FactStatus.UNLOCKED
    assert change.notes == ("fact 1 unlocked: trust 60, at least 20 above the 40 it needs",)


def test_a_probe_never_unlocks_even_with_trust_and_topic() -> None:
    state, change = apply_turn(
        at(100, FATHER), "What are you hiding about your father's funeral?", None, seq=1
    )
    assert state.facts[0].status is FactStatus.LOCKED and change.unlocked == ()
    assert change.texts == ("probing for secrets -8",)


def test_one_fact_unlocks_per_turn_in_the_profile_order() -> None:
    state = at(100, POLICE, FATHER)
    state, first = apply_turn(state, "Hm.", None, seq=1, code=NEUTRAL)
    state, second = apply_turn(state, "Hm.", None, seq=2, code=NEUTRAL)
    assert (first.unlocked, second.unlocked) == ((0,), (1,))


def test_the_topic_counts_for_three_turns_and_from_the_clients_words_too() -> None:
    state = at(40, FATHER)
    state, _ = apply_turn(state, "What happened?", "We buried him after the funeral.", seq=1,
                          code=NEUTRAL)  # fmt: skip
    state = replace(state, facts=(replace(state.facts[0], status=FactStatus.LOCKED),))
    assert state.facts[0].status is FactStatus.LOCKED
    late = at(40, FATHER)
    for seq, text in enumerate(["The funeral?", "Hm.", "Hm.", "Hm."], 1):
        late = replace(late, trust=30 if seq < 4 else 40)
        late, _ = apply_turn(late, text, None, seq=seq, code=NEUTRAL)
    assert late.facts[0].status is FactStatus.LOCKED  # four turns back: the talk moved on
    recent = at(30, FATHER)
    for seq, text in enumerate(["The funeral?", "Hm.", "Hm."], 1):
        recent = replace(recent, trust=30 if seq < 3 else 40)
        recent, _ = apply_turn(recent, text, None, seq=seq, code=NEUTRAL)
    assert recent.facts[0].status is FactStatus.UNLOCKED
    told, _ = apply_turn(at(40, FATHER), "How are you?", "Since the FUNERALS...", seq=1,
                         code=NEUTRAL)  # fmt: skip
    assert told.facts[0].status is FactStatus.UNLOCKED  # the client's words, any case


def test_a_topic_of_several_words_needs_all_of_them() -> None:
    home, _ = apply_turn(at(60, CARE_HOME), "How is home?", None, seq=1, code=NEUTRAL)
    care_home, _ = apply_turn(at(60, CARE_HOME), "Care homes worry you?", None, seq=1,
                              code=NEUTRAL)  # fmt: skip
    assert home.facts[0].status is FactStatus.LOCKED
    assert care_home.facts[0].status is FactStatus.UNLOCKED


def test_a_fact_without_topics_is_touched_by_its_own_words() -> None:
    one_everyday, _ = apply_turn(at(50, PLAIN), "How is your job?", None, seq=1, code=NEUTRAL)
    specific, _ = apply_turn(at(50, PLAIN), "Tell me about the bakery.", None, seq=1, code=NEUTRAL)
    assert one_everyday.facts[0].status is FactStatus.LOCKED
    assert specific.facts[0].status is FactStatus.UNLOCKED


# ---------------------------------------------------------------- disclosure


@pytest.mark.parametrize(
    ("fact", "reply"),
    [
        (FATHER, "My dad passed away a few months ago."),
        (FATHER, "Dad died in March. I haven't dealt with it."),
        (FATHER, "their father died, four months back now"),
        (POLICE, "The police gave me a caution for drink-driving. My boss has no idea."),
        (CARE_HOME, "I'm frightened my son wants to put me in a care home."),
        (PLAIN, "I lost my job at the bakery after Christmas, in January."),
    ],
)
def test_a_reply_that_tells_a_fact_is_detected_in_any_person(fact: HiddenFact, reply: str) -> None:
    assert detect_disclosure(fact, reply)


@pytest.mark.parametrize(
    ("fact", "reply"),
    [
        (FATHER, "My dad was a good man."),
        (FATHER, "It's been a rough few months."),
        (FATHER, "I'm not ready to talk about my father."),
        (POLICE, "I drink a bit more than I should."),
        (POLICE, "The police came round when next door had a fight."),
        (CARE_HOME, "My son rings on Sundays."),
        (PLAIN, "Work is fine, I suppose."),
        (FATHER, ""),
    ],
)
def test_a_reply_near_a_fact_does_not_tell_it(fact: HiddenFact, reply: str) -> None:
    assert not detect_disclosure(fact, reply)


def test_a_reply_discloses_only_unlocked_facts() -> None:
    state, _ = apply_turn(at(60, FATHER, POLICE), "Hm.", None, seq=1, code=NEUTRAL)
    assert [f.status for f in state.facts] == [FactStatus.UNLOCKED, FactStatus.LOCKED]
    reply = "My dad died in March. And the police cautioned me for drink-driving."
    state, change = note_reply(state, reply, seq=2)
    assert change is not None and change.disclosed == (0,) and change.delta == 0
    assert change.notes == ("fact 1 disclosed",)
    assert [f.status for f in state.facts] == [FactStatus.DISCLOSED, FactStatus.LOCKED]
    assert state.facts[0].disclosed_seq == 2
    assert note_reply(state, "My dad died in March.", seq=3) == (replace(state, last_seq=3), None)


def test_disclosure_transitions_are_guarded() -> None:
    state = start((FATHER, POLICE), difficulty=3)
    with pytest.raises(ValueError, match="locked"):
        mark_disclosed(state, 0, seq=4)
    with pytest.raises(IndexError):
        mark_disclosed(state, 2, seq=4)
    with pytest.raises(IndexError):
        mark_disclosed(state, -1, seq=4)
    with pytest.raises(ValueError, match="unlock"):
        state.facts[0].unlock(1).unlock(2)
    unlocked = replace(state, facts=(state.facts[0].unlock(1), state.facts[1]))
    once = mark_disclosed(unlocked, 0, seq=4)
    assert mark_disclosed(once, 0, seq=9).facts[0].disclosed_seq == 4


def test_only_unlocked_and_disclosed_facts_go_into_the_prompt() -> None:
    state = start((FATHER, POLICE, CARE_HOME), difficulty=3)
    state = replace(state, facts=(state.facts[0].unlock(1).disclose(2), state.facts[1],
                                  state.facts[2].unlock(3)))  # fmt: skip
    assert unlocked_facts(state) == (replace(FATHER, disclosed=True), CARE_HOME)
    assert locked_facts(state) == (POLICE,)
