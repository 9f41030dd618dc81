"""The socket outbox (realtime/outbox.py), without sockets: order, the bound and the
slow-consumer close, flushing, draining, waiters that are cancelled alone, and frames
written directly only when nothing is queued or being sent, never after a seal."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import cast

import pytest

from realtime.backends.base import stamped_entry
from realtime.config import RealtimeConfig
from realtime.events import Pong, ReplyDelta
from realtime.framecache import FrameCache
from realtime.outbox import Outbox
from realtime.socketparts import Closing, SocketParts
from realtime.vocabulary import CloseCode
from realtime.wsframe import text_frame

WAIT = 5.0


@dataclass
class Dropped:
    count: int = 0
    sent: int = 0
    sent_directly: int = 0

    def slow_consumer_dropped(self) -> None:
        self.count += 1

    def frame_sent(self, *, direct: bool = False) -> None:
        self.sent += 1
        self.sent_directly += direct


@dataclass
class Wire:
    """A transport's direct write: what it took, and whether it takes more."""

    taking: bool = True
    frames: list[bytes] = field(default_factory=list)

    def write_now(self, frame: bytes) -> bool:
        if self.taking:
            self.frames.append(frame)
        return self.taking


@dataclass
class Parts:
    config: RealtimeConfig
    frames: FrameCache = field(default_factory=FrameCache)
    observer: Dropped = field(default_factory=Dropped)


def outbox(frames: int = 3, slow: float = WAIT, wire: Wire | None = None) -> tuple[Outbox, Parts]:
    parts = Parts(RealtimeConfig(send_queue_frames=frames, slow_consumer_seconds=slow))
    return Outbox(cast(SocketParts, parts), None if wire is None else wire.write_now), parts


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


async def test_a_frame_pushed_to_an_idle_outbox_is_written_directly() -> None:
    wire = Wire()
    box, parts = outbox(wire=wire)
    event = pong(1)
    box.push(event)
    assert wire.frames == [text_frame(parts.frames.encode(event))]
    assert box.next_to_send() is None and await box.flushed(0.01)
    assert (parts.observer.sent, parts.observer.sent_directly) == (1, 1)


async def test_a_frame_waiting_or_being_sent_keeps_the_next_one_behind_it() -> None:
    wire = Wire(taking=False)
    box, parts = outbox(wire=wire)
    box.push(pong(1))  # the transport pushes back: queued
    wire.taking = True
    box.push(pong(2))  # one waits: queued behind it, not written past it
    assert wire.frames == []
    first = box.next_to_send()
    assert first is not None and '"1"' in first
    box.push(pong(3))  # one waits, one is being sent
    assert wire.frames == []
    box.sent()
    second, third = box.next_to_send(), box.next_to_send()
    assert second is not None and '"2"' in second and third is not None and '"3"' in third
    box.sent()
    box.sent()
    box.push(pong(4))  # all sent: direct again
    assert len(wire.frames) == 1 and b'"4"' in wire.frames[0]
    assert parts.observer.sent_directly == 1


async def test_a_sealed_outbox_only_queues() -> None:
    wire = Wire()
    box, _ = outbox(wire=wire)
    box.seal()
    box.push(pong(1))
    assert wire.frames == []
    text = box.next_to_send()
    assert text is not None and '"1"' in text


async def test_one_events_frame_is_the_same_bytes_for_every_socket() -> None:
    frames = FrameCache()
    event = stamped_entry(7, "epoch", ReplyDelta(reply_id="r1", text="shared")).event
    first, second = frames.frame(event), frames.frame(event)
    assert first is second and first == text_frame(frames.encode(event))
    welcome_like = pong(1)  # made for one socket: framed each time, not remembered
    assert frames.frame(welcome_like) == text_frame(frames.encode(welcome_like))
