"""Reply slots and their bounded queue (realtime.replyslots): the pure book without a loop,
then the async shell's waits, cancellations and timeouts, driven by events (no sleeps)."""

from __future__ import annotations

import asyncio

import pytest

from realtime.replyslots import QueueWaitExceeded, ReplySlots, SlotBook


def test_admission_counts_streaming_and_waiting_against_slots_plus_queue() -> None:
    book: SlotBook[str] = SlotBook(streaming=2, queued=1)
    assert [book.admit() for _ in range(4)] == [True, True, True, False]
    assert (book.running, book.waiting) == (0, 3)
    assert book.ask("a") and book.ask("b")
    assert not book.ask("c")  # queued behind a and b
    assert (book.running, book.waiting) == (2, 1)
    assert not book.admit()  # 2 streaming + 1 queued: full
    assert book.finish() == ["c"]
    assert (book.running, book.waiting) == (2, 0)
    assert book.admit() and not book.admit()


def test_the_queue_is_first_come_first_served_and_take_never_jumps_it() -> None:
    book: SlotBook[str] = SlotBook(streaming=1, queued=3)
    for _ in range(4):
        assert book.admit()
    assert book.ask("a")
    assert not book.ask("b") and not book.ask("c")
    assert book.finish() == ["b"]
    # A slot is free only for the queue's head: a late asker is not served first.
    assert not book.take()
    book.withdraw("c")  # c gave up (stopped while queued)
    assert book.waiting == 1
    assert book.finish() == []
    assert book.take() and book.running == 1 and book.waiting == 0


def test_a_readmitted_retry_is_never_refused() -> None:
    book: SlotBook[str] = SlotBook(streaming=1, queued=0)
    assert book.admit() and book.ask("first")
    assert not book.admit()
    book.readmit()  # the retry of a withdrawn reply continues a promised turn
    assert book.waiting == 1


def test_nonsense_bounds_are_refused() -> None:
    with pytest.raises(ValueError):
        SlotBook(streaming=0, queued=5)
    with pytest.raises(ValueError):
        SlotBook(streaming=1, queued=-1)


async def test_a_queued_ticket_gets_the_slot_given_back_and_reports_waiting() -> None:
    seen: list[int] = []
    slots = ReplySlots(1, 1, wait_seconds=30, on_waiting=seen.append)
    first, second = slots.admit(), slots.admit()
    assert first is not None and second is not None
    assert slots.admit() is None  # full: busy
    assert first.acquire_now() and first.streaming
    assert not second.acquire_now()
    waiting = asyncio.create_task(second.acquire())
    await asyncio.sleep(0)  # let it queue
    assert not waiting.done() and slots.waiting == 1
    first.release()
    await asyncio.wait_for(waiting, 5)
    assert second.streaming and slots.waiting == 0
    second.release()
    second.release()  # idempotent
    assert (slots.book.running, slots.waiting) == (0, 0)
    assert seen[-1] == 0 and max(seen) == 2


async def test_cancelling_a_queued_wait_gives_the_place_up() -> None:
    slots = ReplySlots(1, 2, wait_seconds=30)
    holder, quitter, next_one = slots.admit(), slots.admit(), slots.admit()
    assert holder and quitter and next_one
    assert holder.acquire_now()
    quitting = asyncio.create_task(quitter.acquire())
    await asyncio.sleep(0)
    following = asyncio.create_task(next_one.acquire())
    await asyncio.sleep(0)
    quitting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await quitting
    quitter.release()  # a no-op: the cancelled wait already gave its place up
    assert slots.waiting == 1
    holder.release()
    await asyncio.wait_for(following, 5)
    assert next_one.streaming and slots.book.running == 1


async def test_a_wait_past_the_limit_raises_and_frees_the_place() -> None:
    slots = ReplySlots(1, 1, wait_seconds=0)  # no wait allowed: times out at once
    holder, late = slots.admit(), slots.admit()
    assert holder and late and holder.acquire_now()
    with pytest.raises(QueueWaitExceeded):
        await late.acquire()
    assert slots.waiting == 0 and not late.streaming
    assert slots.admit() is not None


async def test_a_released_ticket_acquires_again_for_its_retry() -> None:
    slots = ReplySlots(1, 0, wait_seconds=30)
    ticket = slots.admit()
    assert ticket and ticket.acquire_now()
    ticket.release()
    assert slots.waiting == 0
    assert ticket.acquire_now()  # readmitted: the queue (of 0) does not refuse it
    assert slots.book.running == 1
    ticket.release()
    assert slots.book.running == 0
