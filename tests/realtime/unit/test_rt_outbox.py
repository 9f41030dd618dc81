"""The socket outbox (realtime/outbox.py), without sockets: order, the bound and the
slow-consumer close, flushing, draining, and waiters that are cancelled alone."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import cast

import pytest

from realtime.config import RealtimeConfig
from realtime.events import Pong
from realtime.framecache import FrameCache
from realtime.outbox import Outbox
from realtime.socketparts import Closing, SocketParts
from realtime.vocabulary import CloseCode

WAIT = 5.0


@dataclass
class Dropped:
    count: int = 0

    def slow_consumer_dropped(self) -> None:
        self.count += 1


@dataclass
class Parts:
    config: RealtimeConfig
    frames: FrameCache = field(default_factory=FrameCache)
    observer: Dropped = field(default_factory=Dropped)


def outbox(frames: int = 3, slow: float = WAIT) -> tuple[Outbox, Parts]:
    parts = Parts(RealtimeConfig(send_queue_frames=frames, slow_consumer_seconds=slow))
    return Outbox(cast(SocketParts, parts)), parts


def pong(n: int) -> Pong:
    return Pong(nonce=str(n))


async def test_frames_come_out_in_order_and_a_get_waits_for_one() -> None:
    box, _ = outbox()
    waiting = asyncio.create_task(box.get())
    await asyncio.sleep(0)
    assert not waiting.done()
    await box.put(pong(1))
    await box.put(pong(2))
    first = await asyncio.wait_for(waiting, WAIT)
    second = await box.get()
    assert '"1"' in first and '"2"' in second


async def test_a_full_outbox_holds_the_putter_until_the_writer_takes_one() -> None:
    box, parts = outbox(frames=2)
    await box.put(pong(1))
    await box.put(pong(2))
    held = asyncio.create_task(box.put(pong(3)))
    await asyncio.sleep(0)
    assert not held.done()
    assert '"1"' in await box.get()
    await asyncio.wait_for(held, WAIT)
    assert ['"2"' in await box.get(), '"3"' in await box.get()] == [True, True]
    assert parts.observer.count == 0


async def test_an_outbox_full_for_the_slow_consumer_time_closes_with_4008() -> None:
    box, parts = outbox(frames=1, slow=0.05)
    await box.put(pong(1))
    with pytest.raises(Closing) as closing:
        await box.put(pong(2))
    assert closing.value.code == CloseCode.TOO_SLOW and parts.observer.count == 1


async def test_flushed_waits_for_what_was_taken_to_be_sent() -> None:
    box, _ = outbox()
    assert await box.flushed(0.01)  # empty: at once
    await box.put(pong(1))
    assert not await box.flushed(0.01)  # queued, no writer
    await box.get()
    assert not await box.flushed(0.01)  # taken, not yet on the wire
    flushing = asyncio.create_task(box.flushed(WAIT))
    await asyncio.sleep(0)
    box.sent()
    assert await asyncio.wait_for(flushing, WAIT)


async def test_take_drains_without_waiting() -> None:
    box, _ = outbox()
    await box.put(pong(1))
    await box.put(pong(2))
    assert [box.take() is not None, box.take() is not None, box.take()] == [True, True, None]
    assert await box.flushed(0.01)


async def test_a_cancelled_waiter_leaves_the_others_waiting() -> None:
    box, _ = outbox()
    doomed = asyncio.create_task(box.get())
    survivor = asyncio.create_task(box.get())
    await asyncio.sleep(0)
    doomed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await doomed
    await box.put(pong(1))
    assert '"1"' in await asyncio.wait_for(survivor, WAIT)
