"""A say's opening (the reply lock, the log read under it, the claim) on the in-process
rig: what it leaves behind when it cannot finish, a retried say stored once, and a say
that finds an orphan repair holding the lock."""

from __future__ import annotations

import asyncio
import uuid
from typing import TypeVar

import pytest

from realtime import sayopening
from realtime.backends import BackendUnavailable
from realtime.events import ErrorEvent, ReplyDelta, ReplyDone, ReplyError, ReplyStart
from realtime.sessionlog import is_repair
from realtime.vocabulary import MessageRole
from tests.hub.rig import Rig, hub_of, new_session, say_and_wait

E = TypeVar("E", ReplyDone, ReplyError)


async def test_a_say_whose_catch_up_fails_under_the_lock_gives_the_lock_back(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    sid = await new_session(rig)
    await say_and_wait(rig, sid, "Hello.", uuid.uuid4().hex)  # the worker knows the session
    # The live log is lost: the next say's opening takes the lock, finds no log and
    # must rebuild it, which fails.
    await rig.backend.expire_session_keys(str(sid), 0)

    async def down(session_id: uuid.UUID) -> None:
        raise BackendUnavailable("redis is restarting")

    with monkeypatch.context() as patched:
        patched.setattr(rig.log, "ensure", down)
        with pytest.raises(BackendUnavailable):
            await rig.hub.say(sid, "Are you there?", uuid.uuid4().hex)
    assert await rig.backend.current_reply(str(sid)) is None  # not held for its lease
    await say_and_wait(rig, sid, "Are you there?", uuid.uuid4().hex)


async def test_a_retried_say_is_stored_once_whichever_way_the_lock_was_taken(
    rig: Rig,
) -> None:
    sid = await new_session(rig)
    first = uuid.uuid4().hex
    await say_and_wait(rig, sid, "Hello.", first)  # a cold worker: lock, read, claim apart
    assert await rig.hub.say(sid, "Hello.", first) is None  # warm: one opening; a retry
    second = uuid.uuid4().hex
    await say_and_wait(rig, sid, "How are you?", second)
    assert await rig.hub.say(sid, "How are you?", second) is None
    said = [m.text for m in await rig.log.messages(sid) if m.role is MessageRole.STUDENT]
    assert said == ["Hello.", "How are you?"]


# -- an orphan repair holding the reply lock -----------------------------------------------


def hold_repairs_until_looked_at(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """Pin the race CI's worker-kill test met: a repair's release waits until a say has
    found the lock held by it. Returns the event set at that look."""
    looked = asyncio.Event()
    current_reply, release_reply = rig.backend.current_reply, rig.backend.release_reply

    async def noting_current_reply(sid: str) -> str | None:
        holder = await current_reply(sid)
        if holder is not None and is_repair(holder):
            looked.set()
        return holder

    async def releasing_once_looked(sid: str, reply_id: str) -> None:
        if is_repair(reply_id):
            await asyncio.wait_for(looked.wait(), 5)
        await release_reply(sid, reply_id)

    monkeypatch.setattr(rig.backend, "current_reply", noting_current_reply)
    monkeypatch.setattr(rig.backend, "release_reply", releasing_once_looked)
    return looked


async def a_dead_workers_reply(rig: Rig, sid: uuid.UUID) -> int:
    """A reply left open by a worker that died (its lease lapsed: no lock); the seq
    before it."""
    after = (await rig.log.ensure(sid)).last_seq
    await rig.log.publish(sid, [ReplyStart(reply_id="dead"), ReplyDelta(reply_id="dead", text="I")])
    return after


async def its_end(rig: Rig, sid: uuid.UUID, after: int, kind: type[E]) -> E:
    """The first ``kind`` of reply end in the log after ``after``, as the student's page
    sees it (5 s at most)."""
    async with asyncio.timeout(5), rig.log.subscribe(sid, after) as events:
        async for event in events:
            if isinstance(event, kind):
                return event
    raise AssertionError("the log ended")


@pytest.mark.parametrize("warm", [True, False])
async def test_a_say_right_after_a_repaired_reply_ends_waits_for_the_repair(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, warm: bool
) -> None:
    """The repair appends the cut reply's end, then releases the lock: a student who says
    again the moment the end arrives finds the repair still holding it, and is accepted
    once it lets go, on a worker that knows the session (one opening) or not."""
    sid = await new_session(rig)
    hub = rig.hub
    if warm:
        await say_and_wait(rig, sid, "Hello.")
    else:
        hub = hub_of(rig)  # a worker seeing the session for the first time
    after = await a_dead_workers_reply(rig, sid)
    looked = hold_repairs_until_looked_at(rig, monkeypatch)
    repair = asyncio.create_task(rig.log.repair(sid, 3.0))

    end = await its_end(rig, sid, after, ReplyError)
    assert (end.reply_id, end.code) == ("dead", "interrupted")
    assert await hub.say(sid, "Sorry, you were saying?", "after-the-cut") is None
    assert looked.is_set(), "the say found the repair holding the lock"
    assert await repair == 1
    assert (await its_end(rig, sid, after, ReplyDone)).reply_id != "dead"
    said = [m.text for m in await rig.log.messages(sid) if m.role is MessageRole.STUDENT]
    assert said[-1] == "Sorry, you were saying?"


async def test_a_repair_that_outlasts_the_wait_refuses_the_say_and_stores_nothing(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A repairing worker that died holding the lock (its 3 s lease runs on): the say is
    refused as a reply in progress after the wait, not held for the lease."""
    monkeypatch.setattr(sayopening, "REPAIR_WAIT_SECONDS", 0.2)
    sid = await new_session(rig)
    await say_and_wait(rig, sid, "Hello.")
    key = str(sid)
    after = (await rig.log.ensure(sid)).last_seq
    assert await rig.backend.acquire_reply(key, "repair-of-a-dead-worker", 3.0)
    answer = await rig.hub.say(sid, "Are you there?", "held")
    assert isinstance(answer, ErrorEvent) and answer.code == "reply_in_progress"
    assert await rig.backend.read(key, after, 100) == []
    assert await rig.backend.current_reply(key) == "repair-of-a-dead-worker"
