"""A say's opening (the reply lock, the log read under it, the claim) on the in-process
rig: what it leaves behind when it cannot finish, and a retried say stored once."""

from __future__ import annotations

import uuid

import pytest

from realtime.backends import BackendUnavailable
from realtime.vocabulary import MessageRole
from tests.hub.rig import Rig, new_session, say_and_wait


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
