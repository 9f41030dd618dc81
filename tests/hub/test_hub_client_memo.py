"""A say starts from the client state its worker published (realtime.clientmemo), and
a worker that did not publish the latest state resumes it from the log: the same turn
scores the same either way. Real in-process parts (the hub rig), two workers' hubs over
one log."""

from __future__ import annotations

import uuid

from realtime.clientturns import TurnState
from realtime.conversation import ReplyRunner
from realtime.hub import Hub
from realtime.replyjob import ReplyJob
from skills import code_turn
from tests.hub.rig import Rig, hub_of, new_session, runner_of, say_and_wait

TALK = (
    "What's been going on for you lately?",
    "It sounds like things have been really hard, and you've been carrying it alone.",
    "Do you drink every day?",
    "Do you drive after?",
)


def other_worker(rig: Rig) -> tuple[Hub, ReplyRunner]:
    """A second worker's hub: its own reply runner, so its own memo."""
    runner = runner_of(rig)
    return hub_of(rig, runner=runner), runner


async def scored(rig: Rig, hub: Hub, sid: uuid.UUID, text: str) -> tuple[TurnState, int]:
    """The turn ``hub`` prepares for ``text`` (not said), and the turns it coded for it."""
    recent, session = await hub.snapshot(sid)
    before = code_turn.cache_info()
    job = await hub.prepare_reply(session, uuid.uuid4().hex, text, recent.view, recent.messages)
    after = code_turn.cache_info()
    assert isinstance(job, ReplyJob) and job.turn is not None
    await rig.budgets.settle(str(sid), job.reply_id, 0, 0)
    return job.turn, (after.hits + after.misses) - (before.hits + before.misses)


def same_turn(one: TurnState, other: TurnState) -> None:
    assert one.change == other.change
    assert one.persona == other.persona
    a, b = one.state, other.state
    assert (a.trust, a.closed_streak, a.recent_stems) == (b.trust, b.closed_streak, b.recent_stems)
    assert [(f.status, f.disclosed_seq) for f in a.facts] == [
        (f.status, f.disclosed_seq) for f in b.facts
    ]


async def test_a_say_codes_only_its_own_turn_on_the_worker_that_published_the_last(
    rig: Rig,
) -> None:
    sid = await new_session(rig)
    other, runner = other_worker(rig)
    try:
        for text in TALK:
            await say_and_wait(rig, sid, text)
        nxt = f"Is that a worry for you, {uuid.uuid4().hex}?"
        here, coded_here = await scored(rig, rig.hub, sid, nxt)
        there, coded_there = await scored(rig, other, sid, nxt)
        # The say's own turn; the other worker also codes the student turns it resumes.
        assert coded_here == 1
        assert coded_there == 1 + len(TALK)
        same_turn(here, there)
        assert here.change.reasons and here.state.closed_streak == 3
    finally:
        await runner.aclose(grace=5)


async def test_a_worker_resumes_once_another_worker_said_since(rig: Rig) -> None:
    sid = await new_session(rig)
    other, runner = other_worker(rig)
    try:
        await say_and_wait(rig, sid, TALK[0])
        await say_and_wait(rig, sid, TALK[1], hub=other)  # the latest state is the other's
        await say_and_wait(rig, sid, TALK[2])  # here: resumed, then held again
        nxt = f"Do you drive after, {uuid.uuid4().hex}?"
        here, coded_here = await scored(rig, rig.hub, sid, nxt)
        assert coded_here == 1
        there, coded_there = await scored(rig, other, sid, nxt)
        assert coded_there > 1  # its memo holds an older state: resumed
        same_turn(here, there)
    finally:
        await runner.aclose(grace=5)
