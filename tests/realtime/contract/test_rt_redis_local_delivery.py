"""A Redis worker hands the events it appends to its own subscribers in the append's call
(``StreamReader.appended``), and reads only what other processes append through its
stream reader: checked against the real Redis server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from realtime.backends.base import Subscription
from realtime.backends.redis import RedisBackend
from realtime.protocol import SequencedEvent
from tests.realtime.contract.rt_helpers import WAIT, delta, text_of, until_live

pytestmark = pytest.mark.redis

#: So long that within a test the stream reader reads once: whatever reaches a
#: subscriber after its first read came by the appender's own hand.
NEVER = 3_600.0


@pytest.fixture
async def made(redis_url: str, redis_prefix: str) -> AsyncIterator[Callable[..., RedisBackend]]:
    backends: list[RedisBackend] = []

    def make(read_gather: float = NEVER) -> RedisBackend:
        backend = RedisBackend(redis_url, key_prefix=redis_prefix, read_gather=read_gather)
        backends.append(backend)
        return backend

    try:
        yield make
    finally:
        for backend in backends:
            await backend.aclose()


def taking(events: Subscription, taken: list[SequencedEvent]) -> None:
    def take(event: SequencedEvent) -> bool:
        taken.append(event)
        return True

    events.deliver(take)


async def test_own_appends_reach_own_subscribers_in_the_append_call(
    made: Callable[..., RedisBackend],
) -> None:
    worker = made()
    await worker.open_log("s", 0)
    taken: list[SequencedEvent] = []
    async with worker.subscribe("s", after=0) as events, asyncio.TaskGroup() as tasks:
        taking(events, taken)
        waiter = tasks.create_task(anext(events))  # the iterator waits: the live path is on
        await until_live(lambda: events.waiting)
        await worker.append("s", [delta(1)])
        await until_live(lambda: len(taken) == 1)  # by either hand: the reader has read once
        for i in range(2, 6):
            await worker.append("s", [delta(i), delta(i * 10)])
            assert [e.seq for e in taken[-2:]] == [2 * i - 2, 2 * i - 1]
        waiter.cancel()
    assert [text_of(e) for e in taken] == ["1", "2", "20", "3", "30", "4", "40", "5", "50"]


async def test_others_appends_in_between_keep_the_order(
    made: Callable[..., RedisBackend],
) -> None:
    worker, other = made(read_gather=0.005), made()
    await worker.open_log("s", 0)
    seen: list[str] = []

    async def read_all() -> None:
        async with worker.subscribe("s", after=0) as events:
            async for event in events:
                seen.append(text_of(event))
                if len(seen) == 40:
                    return

    async with asyncio.timeout(WAIT), asyncio.TaskGroup() as tasks:
        reading = tasks.create_task(read_all())
        for i in range(20):
            # The other worker's event lands first; this worker's own cannot be handed
            # over before the reader has brought that one.
            await other.append("s", [delta(2 * i)])
            await worker.append("s", [delta(2 * i + 1)])
        await reading
    assert seen == [str(i) for i in range(40)]
