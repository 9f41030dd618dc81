"""The say opens the upstream call while its message and the reply's start are appended
(the last of its round trips on Redis), and the reply publishes nothing before that
append: pinned on the in-process rig by holding the append until the model is asked,
and by failing it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest

from llm.base import ReplyEvent, ReplyRequest
from llm.scripted import ScriptedProvider
from realtime.backends import BackendUnavailable
from realtime.config import RealtimeConfig
from realtime.conversation import ReplyRunner
from realtime.events import MessageEvent, ReplyDelta, ReplyDone, ReplyStart, SequencedEvent
from tests.hub.hooked import HookedProvider
from tests.hub.rig import Rig, hub_of, new_session

WAIT = 5.0


class Upstream(HookedProvider):
    """The scripted client, noting when a reply is asked for and when its stream closes;
    ``stall``: every word waits until the stream is closed (an upstream still thinking)."""

    def __init__(self, *, stall: bool = False) -> None:
        self.asked = asyncio.Event()
        self.closed = asyncio.Event()
        inner = ScriptedProvider(1.0, sleep=self._stall) if stall else ScriptedProvider(0)
        super().__init__(inner, on_call=self.asked.set)

    async def _stall(self, _seconds: float) -> None:
        await self.closed.wait()

    @asynccontextmanager
    async def stream(self, request: ReplyRequest) -> AsyncIterator[AsyncIterator[ReplyEvent]]:
        try:
            async with super().stream(request) as events:
                yield events
        finally:
            self.closed.set()


def runner_over(rig: Rig, provider: Upstream) -> ReplyRunner:
    return ReplyRunner(
        log=rig.log,
        budgets=rig.budgets,
        provider=provider,
        control=rig.control,
        db=rig.db,
        config=RealtimeConfig(),
    )


def hold_the_says_append(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, until: asyncio.Event, *, fail: bool = False
) -> None:
    """The say's append (its message) waits for ``until``, then lands or fails."""
    publish = rig.log.publish

    async def held(session_id: uuid.UUID, events: Sequence[SequencedEvent]) -> list[int]:
        if any(isinstance(event, MessageEvent) for event in events):
            await asyncio.wait_for(until.wait(), WAIT)
            if fail:
                raise BackendUnavailable("redis is restarting")
        return await publish(session_id, events)

    monkeypatch.setattr(rig.log, "publish", held)


async def test_the_model_is_asked_while_the_message_is_appended(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Were the call opened only after the append, the held append would never land."""
    upstream = Upstream()
    runner = runner_over(rig, upstream)
    hub = hub_of(rig, runner=runner)
    sid = await new_session(rig)
    after = (await rig.log.ensure(sid)).last_seq
    hold_the_says_append(rig, monkeypatch, until=upstream.asked)
    try:
        assert await hub.say(sid, "How was your week?", "c1") is None
    finally:
        await runner.aclose(grace=WAIT)
    events = await rig.backend.read(str(sid), after, 500)
    kinds = [type(event) for event in events]
    # The message, the start, then the whole reply: not a delta before its start.
    assert kinds[:2] == [MessageEvent, ReplyStart]
    first_delta = kinds.index(ReplyDelta)
    assert first_delta > 1 and ReplyDone in kinds[first_delta:]
    done = next(e for e in events if isinstance(e, ReplyDone))
    text = "".join(e.text for e in events if isinstance(e, ReplyDelta))
    assert done.text == text and text


async def test_a_failed_append_closes_the_call_and_leaves_nothing_behind(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The append fails with the upstream call open: the say answers the failure, the call
    is closed, its reservation settled and the lock given back; nothing of the reply is
    in the log, and the next say is accepted."""
    upstream = Upstream(stall=True)
    runner = runner_over(rig, upstream)
    hub = hub_of(rig, runner=runner)
    sid = await new_session(rig)
    key = str(sid)
    after = (await rig.log.ensure(sid)).last_seq
    with monkeypatch.context() as patched:
        hold_the_says_append(rig, patched, until=upstream.asked, fail=True)
        with pytest.raises(BackendUnavailable):
            await hub.say(sid, "How was your week?", "c1")
        await asyncio.wait_for(upstream.closed.wait(), WAIT)
        await runner.aclose(grace=WAIT)
    assert await rig.backend.read(key, after, 100) == []
    assert await rig.backend.current_reply(key) is None
    assert (await rig.budgets.snapshot(key)).reserved == 0
    answer: Any = await rig.hub.say(sid, "How was your week?", "c2")
    assert answer is None
