"""Contract: the sequenced log, its reads and its subscriptions, on every backend."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from realtime.backends import LogMissing
from realtime.backends.redis_scripts import AT_ONCE
from realtime.eventlog import LogGapError, ResumeGap, decide_resume
from tests.realtime.contract.rt_helpers import Workers, delta, eventually, message, take, text_of

pytestmark = pytest.mark.redis


async def test_open_log_is_idempotent_and_starts_at_floor(
    workers: Workers, session_id: str
) -> None:
    backend = workers.make()
    assert await backend.log_info(session_id) is None
    info = await backend.open_log(session_id, floor_seq=7)
    assert (info.last_seq, info.first_seq) == (7, 8)
    assert await backend.open_log(session_id, floor_seq=99) == info
    assert await backend.log_info(session_id) == info
    assert await backend.append(session_id, [delta(1), delta(2)]) == [8, 9]


async def test_append_without_log_raises(workers: Workers, session_id: str) -> None:
    with pytest.raises(LogMissing):
        await workers.make().append(session_id, [delta(1)])
    assert await workers.make().append(session_id, []) == []


async def test_read_after_semantics(workers: Workers, session_id: str) -> None:
    backend = workers.make()
    await backend.open_log(session_id, 0)
    await backend.append(session_id, [delta(i) for i in range(1, 11)])
    events = await backend.read(session_id, after=0, limit=100)
    assert [e.seq for e in events] == list(range(1, 11))
    assert events[0].model_dump(mode="json") == {
        "type": "reply.delta",
        "reply_id": "r",
        "text": "1",
        "seq": 1,
    }
    assert [e.seq for e in await backend.read(session_id, after=7, limit=100)] == [8, 9, 10]
    assert [e.seq for e in await backend.read(session_id, after=2, limit=3)] == [3, 4, 5]
    assert await backend.read(session_id, after=10, limit=5) == []


async def test_log_since_is_where_the_log_stands_and_what_came_after(
    workers: Workers, session_id: str
) -> None:
    backend = workers.make()
    assert await backend.log_since(session_id, 0, 10) is None
    await backend.open_log(session_id, 0)
    await backend.append(session_id, [delta(i) for i in range(1, 11)])
    found = await backend.log_since(session_id, 2, 3)
    assert found is not None
    info, events = found
    assert info == await backend.log_info(session_id)
    assert [e.seq for e in events] == [3, 4, 5]
    assert events == await backend.read(session_id, after=2, limit=3)  # decoded the same
    assert await backend.log_since(session_id, 10, 5) == (info, [])


async def test_concurrent_appenders_get_consecutive_seqs(workers: Workers, session_id: str) -> None:
    a, b = workers.make(), workers.make()  # two workers on one session (Redis)
    await a.open_log(session_id, 0)

    async def producer(backend: Any, n: int) -> list[int]:
        seqs: list[int] = []
        for i in range(50):
            seqs += await backend.append(session_id, [delta(n * 100 + i)])
        return seqs

    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(producer(a if n % 2 else b, n)) for n in range(20)]
    seqs = sorted(s for t in tasks for s in t.result())
    assert seqs == list(range(1, 1001))
    assert (await a.log_info(session_id)).last_seq == 1000  # type: ignore[union-attr]


async def test_batch_append_is_contiguous(workers: Workers, session_id: str) -> None:
    a, b = workers.make(), workers.make()
    await a.open_log(session_id, 0)
    async with asyncio.TaskGroup() as tg:
        ta = tg.create_task(a.append(session_id, [delta(i) for i in range(30)]))
        tb = tg.create_task(b.append(session_id, [delta(i) for i in range(30)]))
    for seqs in (ta.result(), tb.result()):
        assert seqs == list(range(seqs[0], seqs[0] + 30))
    assert sorted(ta.result() + tb.result()) == list(range(1, 61))


async def test_subscribe_gets_live_events_from_another_worker_in_order(
    workers: Workers, session_id: str
) -> None:
    reader, writer = workers.make(), workers.make()
    await writer.open_log(session_id, 0)
    total = 300
    async with reader.subscribe(session_id, after=0) as events:

        async def produce() -> None:
            for i in range(0, total, 3):
                await writer.append(session_id, [delta(i), delta(i + 1), delta(i + 2)])

        async with asyncio.TaskGroup() as tg:
            tg.create_task(produce())
            got = await take(events, total)
    assert [e.seq for e in got] == list(range(1, total + 1))
    assert [text_of(e) for e in got] == [str(i) for i in range(total)]


async def test_subscribe_mid_stream_replays_then_goes_live(
    workers: Workers, session_id: str
) -> None:
    reader, writer = workers.make(), workers.make()
    await writer.open_log(session_id, 0)
    await writer.append(session_id, [delta(i) for i in range(1, 21)])
    async with reader.subscribe(session_id, after=12) as events:
        first = await take(events, 8)
        assert [e.seq for e in first] == list(range(13, 21))
        await writer.append(session_id, [delta(21)])
        assert [e.seq for e in await take(events, 1)] == [21]


async def test_two_subscribers_and_a_slow_one(workers: Workers, session_id: str) -> None:
    """A subscriber that does not read while 600 events pass (queue of 256) still gets
    every event exactly once, re-read from the log."""
    reader, writer = workers.make(), workers.make()
    await writer.open_log(session_id, 0)
    async with (
        reader.subscribe(session_id, after=0) as fast,
        reader.subscribe(session_id, after=0) as slow,
    ):
        for i in range(0, 600, 20):
            await writer.append(session_id, [delta(i + k) for k in range(20)])
        assert [e.seq for e in await take(fast, 600)] == list(range(1, 601))
        assert [e.seq for e in await take(slow, 600)] == list(range(1, 601))


async def test_subscribe_entry_checks(workers: Workers, session_id: str) -> None:
    backend = workers.make()
    with pytest.raises(LogMissing):
        async with backend.subscribe(session_id, after=0):
            pass
    info = await backend.open_log(session_id, 5)
    with pytest.raises(LogGapError) as ahead:
        async with backend.subscribe(session_id, after=6):
            pass
    assert ahead.value.reason == "ahead"
    with pytest.raises(LogGapError) as epoch:
        async with backend.subscribe(session_id, after=5, epoch="not-" + info.epoch):
            pass
    assert epoch.value.reason == "epoch_changed"


async def test_window_trimming_is_a_detected_gap(workers: Workers, session_id: str) -> None:
    backend = workers.make(window=10)
    await backend.open_log(session_id, 0)
    for i in range(0, 400, 40):
        await backend.append(session_id, [delta(i + k) for k in range(40)])
    info = await backend.log_info(session_id)
    assert info is not None and info.last_seq == 400
    assert 1 < info.first_seq <= 391  # at least `window` kept; Redis trims approximately
    kept = await backend.read(session_id, info.first_seq - 1, 1_000)
    assert [e.seq for e in kept] == list(range(info.first_seq, 401))
    decision = decide_resume(0, info.epoch, info)
    assert isinstance(decision, ResumeGap) and decision.reason == "trimmed"
    async with backend.subscribe(session_id, after=0) as events:
        with pytest.raises(LogGapError) as gap:
            await asyncio.wait_for(anext(events), 5)
    assert gap.value.reason == "trimmed"


async def test_lost_keys_mint_a_new_epoch_above_the_floor(
    workers: Workers, session_id: str
) -> None:
    backend = workers.make()
    old = await backend.open_log(session_id, 0)
    await backend.append(session_id, [message(i) for i in range(1, 6)])
    await backend.append(session_id, [delta(6)])
    await backend.trim_durable({session_id: 5})  # the flusher stored seqs 1..5 in SQL
    await backend.expire_session_keys(session_id, 0)  # live state lost
    assert await backend.log_info(session_id) is None
    new = await backend.open_log(session_id, floor_seq=5)
    assert new.epoch != old.epoch
    assert (new.last_seq, new.first_seq) == (5, 6)
    assert await backend.append(session_id, [delta(1)]) == [6]
    gap = decide_resume(6, old.epoch, new)
    assert isinstance(gap, ResumeGap) and gap.reason == "epoch_changed"


async def test_durable_stream_feeds_the_flusher(workers: Workers, session_id: str) -> None:
    backend = workers.make()
    await backend.open_log(session_id, 0)
    await backend.append(session_id, [message(1), delta(2), message(3), delta(4)])
    durable = await backend.read_durable(session_id, 0, 100)
    assert [(e.seq, e.type) for e in durable] == [(1, "message"), (3, "message")]
    await backend.trim_durable({session_id: 1})
    assert [e.seq for e in await backend.read_durable(session_id, 0, 100)] == [3]


async def test_reading_many_durable_streams_reads_each_in_turn(
    workers: Workers, session_id: str
) -> None:
    """``read_durable_many`` answers, session by session and in the order asked, what
    ``read_durable(sid, 0, limit)`` does: for sessions without a stream too, and across
    more than one page of calls written at once."""
    backend = workers.make()
    sids = [f"{session_id}-{n}" for n in range(AT_ONCE + 20)]
    busy = [*sids[::50], sids[AT_ONCE - 1]]  # both sides of the page boundary
    for n, sid in enumerate(busy):
        await backend.open_log(sid, 0)
        await backend.append(sid, [message(i) if i % 2 else delta(i) for i in range(1, 8 + n)])
    await backend.trim_durable({busy[1]: 3})  # the flusher stored seqs 1..3 of this one
    await backend.open_log(sids[1], 0)  # a log without durable events
    asked = [*reversed(sids), busy[0]]  # any order, even a session twice
    for limit in (1, 3, 100):
        many = await backend.read_durable_many(asked, limit)
        assert many == [await backend.read_durable(sid, 0, limit) for sid in asked]
        assert len(many) == len(asked) and all(len(events) <= limit for events in many)
    first = await backend.read_durable_many([busy[0], sids[1], busy[1]], 100)
    assert [[e.seq for e in events] for events in first] == [[1, 3, 5, 7], [], [5, 7]]
    found = await backend.read_durable_many(sids, 2)
    assert [len(events) for events in found].count(2) == len(busy)  # each has 2 or more
    assert sum(map(len, found)) == 2 * len(busy)
    assert await backend.read_durable_many([], 10) == []


async def test_trimming_many_durable_streams_trims_each_to_its_own_seq(
    workers: Workers, session_id: str
) -> None:
    """One ``trim_durable`` for every session of a flusher's commit, across more than one
    page of calls written at once: each stream loses what is at or below its own seq, and
    a session without a stream is no error."""
    backend = workers.make()
    sids = [f"{session_id}-{n}" for n in range(AT_ONCE + 20)]
    busy = [*sids[::50], sids[AT_ONCE - 1], sids[AT_ONCE + 1]]
    for sid in busy:
        await backend.open_log(sid, 0)
        await backend.append(sid, [message(i) for i in range(1, 9)])
    upto = {sid: n % 9 for n, sid in enumerate(sids)}
    await backend.trim_durable(upto)
    for sid in busy:
        kept = [e.seq for e in await backend.read_durable(sid, 0, 100)]
        assert kept == list(range(upto[sid] + 1, 9))
    await backend.trim_durable({})
    assert [e.seq for e in await backend.read_durable(busy[0], 0, 100)] == list(range(1, 9))


async def test_cancelled_subscriber_is_unhooked(workers: Workers, session_id: str) -> None:
    backend = workers.make()
    await backend.open_log(session_id, 0)
    started = asyncio.Event()

    async def follow() -> None:
        async with backend.subscribe(session_id, after=0) as events:
            started.set()
            async for _ in events:
                pass

    task = asyncio.create_task(follow())
    await asyncio.wait_for(started.wait(), 5)
    assert subscribers(backend, session_id) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert subscribers(backend, session_id) == 0
    if workers.kind == "redis":
        reader = backend.reader  # type: ignore[attr-defined]

        async def stopped() -> bool:
            return not reader.running

        await eventually(stopped, step=0.002)


def subscribers(backend: Any, session_id: str) -> int:
    if hasattr(backend, "subscriber_count"):
        return int(backend.subscriber_count(session_id))
    stream = backend._key(session_id, "log")
    return 1 if stream in backend.reader.streams else 0


@pytest.mark.timing
async def test_new_subscriber_does_not_wait_for_the_block_timeout(
    workers: Workers, session_id: str
) -> None:
    """The reader is blocked on one session; a subscriber to a second one still gets its
    live event fast (Redis: CLIENT UNBLOCK; the block timeout is 5 s)."""
    backend = workers.make()
    other = session_id + "b"
    await backend.open_log(session_id, 0)
    await backend.open_log(other, 0)
    async with backend.subscribe(session_id, after=0):
        await asyncio.sleep(0.05)  # let the reader block on the first stream
        async with backend.subscribe(other, after=0) as events:
            await backend.append(other, [delta(1)])
            got = await asyncio.wait_for(take(events, 1), 1.5)
    assert got[0].seq == 1
