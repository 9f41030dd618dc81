"""A subscriber's queue and wake-up, without a backend: entries come out in order, a wait
is woken by an offer or a failure, a cancelled wait leaves nothing behind, and an idle
subscriber holds no deque or event (what an idle socket's memory is made of)."""

from __future__ import annotations

import asyncio
import sys
import tracemalloc

import pytest

from realtime.backends.base import LogEntry, Subscriber, stamped_entry
from realtime.events import PresenceEvent


def entry(seq: int) -> LogEntry:
    return stamped_entry(seq, "e1", PresenceEvent(student_online=False, observers=seq))


async def test_entries_come_out_in_the_order_offered_and_a_full_queue_marks_lag() -> None:
    sub = Subscriber("s", 0, "e1", maxsize=3)
    for seq in range(1, 6):
        sub.offer(entry(seq))
    assert sub.lagged
    assert [(await sub.next_entry()) for _ in range(3)] == [entry(1), entry(2), entry(3)]


async def test_a_waiting_reader_is_woken_by_an_offer_and_by_a_failure() -> None:
    sub = Subscriber("s", 0, "e1", maxsize=10)
    waiting = asyncio.create_task(sub.next_entry())
    await asyncio.sleep(0)  # it waits now
    sub.offer(entry(1))
    assert await asyncio.wait_for(waiting, 5) == entry(1)
    waiting = asyncio.create_task(sub.next_entry())
    await asyncio.sleep(0)
    sub.fail(RuntimeError("gone"))
    assert await asyncio.wait_for(waiting, 5) is None
    assert isinstance(sub.failure, RuntimeError)


async def test_a_cancelled_wait_leaves_the_next_one_working() -> None:
    sub = Subscriber("s", 0, "e1", maxsize=10)
    waiting = asyncio.create_task(sub.next_entry())
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    sub.offer(entry(1))  # nobody waits: it is queued
    sub.offer(entry(2))
    assert await asyncio.wait_for(sub.next_entry(), 5) == entry(1)
    waiting = asyncio.create_task(sub.next_entry())
    assert await asyncio.wait_for(waiting, 5) == entry(2)


def test_an_idle_subscriber_is_small() -> None:
    """Made 1,000 times: ~270 bytes each, under one empty deque's 760 (it was a deque
    and an event: ~1,830 bytes)."""
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        subs = [Subscriber(f"s{n}", 0, "e1", maxsize=256) for n in range(1_000)]
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    print(f"an idle subscriber: {grown / len(subs):.0f} B ({sys.version_info[:2]})")
    assert grown / len(subs) < 760
