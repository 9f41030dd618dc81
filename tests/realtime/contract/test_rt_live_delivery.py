"""Contract: a subscription's live path (``Subscription.deliver``) on every backend. Live
events go to the taker in the appender's (or the stream reader's) own call while the
iterator waits; the backlog, and whatever the taker declines, come through the iterator;
together they are the log, in order, each event once."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest

from realtime.backends.base import Subscription
from realtime.protocol import SequencedEvent
from tests.realtime.contract.rt_helpers import WAIT, Workers, delta, until_live

pytestmark = pytest.mark.redis


async def test_live_events_go_to_the_taker_and_the_rest_through_the_iterator_in_order(
    workers: Workers, session_id: str
) -> None:
    reader, writer = workers.make(), workers.make()
    await writer.open_log(session_id, 0)
    await writer.append(session_id, [delta(i) for i in range(1, 6)])  # the backlog: 1-5
    order: list[int] = []  # as the subscriber handled them, by either path
    taken: list[int] = []
    yielded: list[int] = []
    holding_12, release_12 = asyncio.Event(), asyncio.Event()

    def take(event: SequencedEvent) -> bool:
        if event.seq == 12:
            return False  # e.g. the socket's outbox is full
        order.append(event.seq)
        taken.append(event.seq)
        return True

    async def iterate(events: Subscription) -> None:
        async for event in events:
            if event.seq == 12:  # its consumer is busy with it a while (a full outbox)
                holding_12.set()
                await release_12.wait()
            order.append(event.seq)
            yielded.append(event.seq)

    # A second subscription, caught up before anything is appended, so that it sees the
    # live entries only: when it has one, the same reader's call offered it to `events`.
    witnessed: list[int] = []

    async def witness(events: Subscription) -> None:
        async for event in events:
            witnessed.append(event.seq)

    async with (
        reader.subscribe(session_id, after=0) as events,
        reader.subscribe(session_id, after=5) as witnessing,
        asyncio.timeout(WAIT),
        asyncio.TaskGroup() as tasks,
    ):
        events.deliver(take)
        iterator = tasks.create_task(iterate(events))
        watcher = tasks.create_task(witness(witnessing))
        await until_live(lambda: events.waiting and witnessing.waiting)
        for i in range(6, 12):
            await writer.append(session_id, [delta(i)])
            await until_live(lambda i=i: i in taken)  # type: ignore[misc]
        await writer.append(session_id, [delta(12)])
        await holding_12.wait()
        # Its consumer still busy with 12: 13 and 14 must wait behind it.
        await writer.append(session_id, [delta(13), delta(14)])
        await until_live(lambda: witnessed[-1:] == [14])
        assert 13 not in order and 14 not in order
        release_12.set()
        # Once the iterator has handled 12 and what queued behind it and waits again,
        # the live path takes over again.
        await until_live(lambda: len(order) == 14 and events.waiting)
        await writer.append(session_id, [delta(15)])
        await until_live(lambda: 15 in taken)
        iterator.cancel()
        watcher.cancel()
    assert order == list(range(1, 16)) and witnessed == list(range(6, 16))
    assert yielded[:5] == [1, 2, 3, 4, 5] and yielded[5:] == [12, 13, 14]
    assert taken == [6, 7, 8, 9, 10, 11, 15]


async def test_a_taker_that_fails_fails_its_iterator_and_not_the_appender(
    workers: Workers, session_id: str
) -> None:
    reader, writer = workers.make(), workers.make()
    await writer.open_log(session_id, 0)

    def broken(event: SequencedEvent) -> bool:
        raise RuntimeError(f"bug at {event.seq}")

    async with reader.subscribe(session_id, after=0) as events, asyncio.timeout(WAIT):
        events.deliver(broken)
        failing = asyncio.create_task(anext(events))
        await until_live(lambda: events.waiting)
        assert await writer.append(session_id, [delta(1)]) == [1]
        with pytest.raises(RuntimeError, match="bug at 1"):
            await failing
    assert [e.seq for e in await writer.read(session_id, 0, 10)] == [1]


async def test_an_ended_subscription_is_freed_without_the_collector(
    workers: Workers, session_id: str
) -> None:
    """A taker and its subscription refer to each other while it lives; once it ends, the
    two (and whatever the taker holds: a reply's stop watch holds the reply's queue) go
    as their last reference does, not at some later pass of the garbage collector."""
    reader, writer = workers.make(), workers.make()
    await writer.open_log(session_id, 0)
    await writer.append(session_id, [delta(1)])  # read back through the iterator
    taken: list[int] = []

    async def one_subscription() -> weakref.ref[Subscription]:
        def take(event: SequencedEvent) -> bool:
            taken.append(event.seq)
            return True

        async with reader.subscribe(session_id, after=0) as events:
            events.deliver(take)  # from here the two refer to each other
            assert await anext(events) == (await writer.read(session_id, 0, 1))[0]
            return weakref.ref(events)

    gc.disable()
    try:
        gone = await one_subscription()
        assert gone() is None
    finally:
        gc.enable()
