"""A session's end and a reply's stop racing a say that is still preparing its reply (it
holds the reply lock, its ``reply.start`` is not logged yet), and an expiry whose say's
socket goes away mid-way. Real parts in one process (the hub rig); each race is pinned
by a hook inside the say's budget reservation or inside the end, not by timing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from realtime.config import RealtimeConfig
from realtime.events import (
    ErrorEvent,
    ReplyDelta,
    ReplyDone,
    ReplyError,
    ReplyStop,
    StatusEvent,
)
from realtime.lifecycle import SessionAction
from realtime.protocol import SequencedEvent
from realtime.vocabulary import Role
from tests.hub.rig import Rig, hub_of, new_session
from tests.realtime.contract.rt_helpers import eventually


def during_reservation(
    monkeypatch: pytest.MonkeyPatch, rig: Rig, act: Callable[[], Awaitable[Any]]
) -> None:
    """Run ``act`` once, inside the next say's budget reservation (the lock is held)."""
    reserve = rig.budgets.reserve
    done: list[bool] = []

    async def reserve_then_act(*args: Any, **kwargs: Any) -> Any:
        hold = await reserve(*args, **kwargs)
        if not done:
            done.append(True)
            await act()
        return hold

    monkeypatch.setattr(rig.budgets, "reserve", reserve_then_act)


async def the_reply_ends(rig: Rig, sid: uuid.UUID, after: int) -> list[SequencedEvent]:
    """The log past ``after`` up to the say's reply's end (5 s at most)."""
    seen: list[SequencedEvent] = []
    async with asyncio.timeout(5), rig.log.subscribe(sid, after) as events:
        async for event in events:
            seen.append(event)
            if isinstance(event, ReplyDone | ReplyError):
                return seen
    raise AssertionError(seen)


async def test_a_stop_asked_while_the_say_prepared_stops_its_reply(
    monkeypatch: pytest.MonkeyPatch, rig: Rig
) -> None:
    sid = await new_session(rig)
    after = (await rig.log.ensure(sid)).last_seq
    stops: list[object] = []

    async def press_stop() -> None:
        stops.append(await rig.hub.stop(sid, Role.STUDENT))

    during_reservation(monkeypatch, rig, press_stop)
    assert await rig.hub.say(sid, "Can you tell me about your week?", "c1") is None
    events = await the_reply_ends(rig, sid, after)
    assert stops == [None]  # accepted: the preparing say's reply was the one running
    end = events[-1]
    assert isinstance(end, ReplyDone) and end.stopped and end.text == "", events
    assert not [e for e in events if isinstance(e, ReplyDelta)]


async def test_an_end_while_a_say_prepares_neither_stops_nor_waits_for_it(
    monkeypatch: pytest.MonkeyPatch, rig: Rig
) -> None:
    """The end does not stop a reply that has not started (it used to log a stop for it
    and wait the 5 s grace for an end that never came); the reply, started after the
    end, hears the end in the log and stops before its first delta."""
    sid = await new_session(rig)
    after = (await rig.log.ensure(sid)).last_seq

    async def end() -> None:
        await rig.control.transition(sid, SessionAction.END, actor="t", reason="teacher")

    during_reservation(monkeypatch, rig, end)
    assert await rig.hub.say(sid, "Shall we begin?", "c1") is None
    events = await the_reply_ends(rig, sid, after)
    assert not [e for e in events if isinstance(e, ReplyStop)], events
    status = [e for e in events if isinstance(e, StatusEvent)]
    assert [s.status for s in status] == ["completed"]
    end_event = events[-1]
    assert isinstance(end_event, ReplyDone) and end_event.stopped, events
    assert not [e for e in events if isinstance(e, ReplyDelta)]
    assert await rig.backend.current_reply(str(sid)) is None


async def test_an_expiry_outlives_the_socket_of_the_say_that_found_the_budget_spent(
    rig: Rig,
) -> None:
    """The student drops off while their say expires the session: the expiry still
    happens (else every later say is refused and the session never ends: the
    watchdog's lower-bound check does not end it)."""
    sid = await new_session(rig, token_budget=1_000)
    ending, go_on = asyncio.Event(), asyncio.Event()

    async def slow_end(_: uuid.UUID) -> None:
        ending.set()
        await go_on.wait()

    rig.control.before_terminal.append(slow_end)
    after = (await rig.log.ensure(sid)).last_seq
    say = asyncio.create_task(rig.hub.say(sid, "word " * 3_000, "too-long"))
    async with asyncio.timeout(5):
        await ending.wait()
    say.cancel()  # the socket went: its command task is cancelled
    with pytest.raises(asyncio.CancelledError):
        await say
    go_on.set()
    async with asyncio.timeout(5), rig.log.subscribe(sid, after) as events:
        async for event in events:
            if isinstance(event, StatusEvent):
                break
    session = await rig.control.load(sid)
    assert (session.status, session.end_reason) == ("expired", "tokens")


async def test_a_say_whose_lease_lapsed_while_it_prepared_stores_nothing(
    monkeypatch: pytest.MonkeyPatch, rig: Rig
) -> None:
    """Preparing outlasted the reply lease and another say took the lock: this say is
    refused ``reply_in_progress``, stores nothing and gives its budget hold back."""
    hub = hub_of(rig, config=RealtimeConfig(reply_lock_seconds=0.2))
    sid = await new_session(rig)
    key = str(sid)
    after = (await rig.log.ensure(sid)).last_seq

    async def lapsed() -> bool:
        return await rig.backend.current_reply(key) is None

    async def outlast_the_lease() -> None:
        await eventually(lapsed)  # a lease's expiry: nothing announces it
        assert await rig.backend.acquire_reply(key, "another-say", 10)

    during_reservation(monkeypatch, rig, outlast_the_lease)
    answer = await hub.say(sid, "Are you still with me?", "c1")
    assert isinstance(answer, ErrorEvent) and answer.code == "reply_in_progress"
    assert await rig.backend.read(key, after, 100) == []
    assert (await rig.budgets.snapshot(key)).reserved == 0
    assert await rig.backend.current_reply(key) == "another-say"


async def test_a_say_whose_lease_lapsed_while_it_opened_stores_nothing(
    monkeypatch: pytest.MonkeyPatch, rig: Rig
) -> None:
    """The lease runs from the lock's taking, inside the say's opening: an opening that
    outlasted it (a worker's first look at a session reads SQL; under load that took
    longer than a short lease in CI) leaves the say refused like a slow preparation, not
    streaming a reply under another say's lock. A 1 s lease: the rest of the say takes
    far less than its quarter, so only the opening's time can tell it lapsed."""
    hub = hub_of(rig, config=RealtimeConfig(reply_lock_seconds=1.0))
    sid = await new_session(rig)
    key = str(sid)
    after = (await rig.log.ensure(sid)).last_seq
    claim = rig.backend.claim

    async def claim_after_the_lease(*args: Any, **kwargs: Any) -> Any:
        # The opening's last step, with the lock held since its first.
        await eventually(lambda: _lapsed(rig, key))
        assert await rig.backend.acquire_reply(key, "another-say", 10)
        return await claim(*args, **kwargs)

    monkeypatch.setattr(rig.backend, "claim", claim_after_the_lease)
    answer = await hub.say(sid, "Are you still with me?", "c1")
    assert isinstance(answer, ErrorEvent) and answer.code == "reply_in_progress"
    assert await rig.backend.read(key, after, 100) == []
    assert (await rig.budgets.snapshot(key)).reserved == 0
    assert await rig.backend.current_reply(key) == "another-say"


async def _lapsed(rig: Rig, key: str) -> bool:
    return await rig.backend.current_reply(key) is None
