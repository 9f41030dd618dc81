"""A Redis worker hands the events it appends to its own subscribers in the append's call
(``StreamReader.appended``), and reads only what other processes append through its
stream reader, which only their appends wake (``redis_wakes``): checked against the real
Redis server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from redis.asyncio import Redis

from realtime.backends.base import Event, Subscriber, Subscription
from realtime.backends.redis import RedisBackend
from realtime.backends.redis_reader import StreamReader
from realtime.events import MessageEvent, ReplyStop, encode, payload_json
from realtime.protocol import SequencedEvent
from realtime.vocabulary import Role
from tests.realtime.contract.rt_helpers import WAIT, delta, take, text_of, until_live

pytestmark = pytest.mark.redis

#: So long that within a test the stream reader reads once: whatever reaches a
#: subscriber after its first read came by the appender's own hand.
NEVER = 3_600.0


@pytest.fixture
async def made(redis_url: str, redis_prefix: str) -> AsyncIterator[Callable[..., RedisBackend]]:
    backends: list[RedisBackend] = []

    def make(
        read_gather: float = NEVER,
        read_block_ms: int = 5_000,
        known: Callable[[Event, str], None] | None = None,
    ) -> RedisBackend:
        backend = RedisBackend(
            redis_url,
            key_prefix=redis_prefix,
            read_gather=read_gather,
            read_block_ms=read_block_ms,
            known=known,
        )
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


@asynccontextmanager
async def following(worker: RedisBackend) -> AsyncIterator[list[SequencedEvent]]:
    """Subscribe to session "s" with the live path on (the iterator waits, so a taker
    takes each event in the appender's or the reader's call): what reached it, in order."""
    taken: list[SequencedEvent] = []
    async with worker.subscribe("s", after=0) as events, asyncio.TaskGroup() as tasks:
        taking(events, taken)
        waiter = tasks.create_task(anext(events))
        await until_live(lambda: events.waiting)
        yield taken
        waiter.cancel()


async def test_own_appends_reach_own_subscribers_in_the_append_call(
    made: Callable[..., RedisBackend],
) -> None:
    worker = made()
    await worker.open_log("s", 0)
    async with following(worker) as taken:
        await worker.append("s", [delta(1)])
        await until_live(lambda: len(taken) == 1)  # by either hand: the reader has read once
        for i in range(2, 6):
            await worker.append("s", [delta(i), delta(i * 10)])
            assert [e.seq for e in taken[-2:]] == [2 * i - 2, 2 * i - 1]
    assert [text_of(e) for e in taken] == ["1", "2", "20", "3", "30", "4", "40", "5", "50"]


async def test_own_subscribers_are_sent_the_stored_text_it_was_told(
    made: Callable[..., RedisBackend],
) -> None:
    """What the worker hands its own subscribers comes with its socket text, told before
    they take it (so the frame cache does not encode it again): encode's own text."""
    told: dict[int, str] = {}
    taken_when_told: list[int] = []  # how many events were taken when each text was told
    following_taken: list[list[SequencedEvent]] = []  # following's list, once subscribed

    def known(event: Event, text: str) -> None:
        told[id(event)] = text
        taken_when_told.append(len(following_taken[0]) if following_taken else 0)

    worker = made(known=known)
    await worker.open_log("s", 0)
    async with following(worker) as taken:
        following_taken.append(taken)
        await worker.append("s", [delta(0)])
        await until_live(lambda: len(taken) == 1)
        told.clear()
        taken_when_told.clear()
        await worker.append(
            "s", [delta(1), MessageEvent(message_id="m", role="student", text="Hi")]
        )
        assert await worker.acquire_reply("s", "r1", ttl=30)
        await worker.request_stop("s", "r1", ReplyStop(reply_id="r1", by=Role.STUDENT))
        assert [e.seq for e in taken] == [1, 2, 3, 4]
        assert [told[id(e)] for e in taken[1:]] == [encode(e) for e in taken[1:]]
        assert taken_when_told == [1, 1, 3]  # each text told before its event was taken


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


def key(prefix: str, name: str) -> str:
    return f"{prefix}:{{s}}:{name}"


async def settled(worker: RedisBackend) -> None:
    """Append the subscriber's first event and wait until the reader blocks (on its wake
    streams alone: a session stream is read without blocking)."""
    await worker.append("s", [delta(0)])
    await until_live(lambda: worker.reader.blocked)


async def test_own_appends_do_not_wake_the_reader_and_others_do(
    made: Callable[..., RedisBackend],
) -> None:
    worker, other = made(read_gather=0.005), made()
    await worker.open_log("s", 0)
    async with following(worker) as taken:
        await settled(worker)
        answers = worker.reader.answers
        for i in range(1, 41):
            await worker.append("s", [delta(i)])
        assert [text_of(e) for e in taken] == [str(i) for i in range(41)]
        assert worker.reader.blocked and worker.reader.answers == answers

        await other.append("s", [delta(41), delta(42)])
        await until_live(lambda: len(taken) == 43)
        assert [text_of(e) for e in taken[-2:]] == ["41", "42"]
        assert worker.reader.answers > answers


async def test_an_append_whose_answer_was_lost_is_read_in_a_moment(
    made: Callable[..., RedisBackend],
) -> None:
    worker = made(read_gather=0.005)
    await worker.open_log("s", 0)
    async with following(worker) as taken:
        await worker.append("s", [delta(0)])
        await until_live(lambda: worker.reader.blocked)
        # The script ran, its answer never reached this worker (a connection lost after
        # the send): nobody handed it over, and no other process's wake-up will come.
        args: list[str | int] = [worker._window, worker._idle_ms, worker._reader_id, 1]
        keys, args = worker._append_keys("s"), [*args, payload_json(delta(1)), "0"]
        await worker.scripts.run(worker._append, keys, args)
        await worker.append("s", [delta(2)])  # kept until the gap is read
        assert [text_of(e) for e in taken] == ["0"]
        await until_live(lambda: len(taken) == 3)
        assert [text_of(e) for e in taken] == ["0", "1", "2"]


async def test_a_lost_registration_still_reads_at_the_block_timeout(
    made: Callable[..., RedisBackend], redis: Redis, redis_prefix: str
) -> None:
    worker, other = made(read_gather=0.005, read_block_ms=200), made()
    await worker.open_log("s", 0)
    async with worker.subscribe("s", after=0) as events:
        await settled(worker)
        await redis.delete(key(redis_prefix, "readers"))  # as if Redis had lost it
        await other.append("s", [delta(1)])
        assert [text_of(e) for e in await take(events, 2)] == ["0", "1"]


async def test_registrations_are_kept_expired_ones_dropped_and_left_ones_removed(
    made: Callable[..., RedisBackend], redis: Redis, redis_prefix: str
) -> None:
    worker, other = made(read_gather=0.005), made()
    readers = key(redis_prefix, "readers")
    await worker.open_log("s", 0)
    async with worker.subscribe("s", after=0):
        await settled(worker)
        await redis.hset(readers, "ghost", 1)  # a dead worker's, expired in 1970
        registered = await redis.hgetall(readers)
        assert set(registered) == {"ghost", worker._reader_id}
        await other.append("s", [delta(1)])
        assert set(await redis.hgetall(readers)) == {worker._reader_id}
        assert not await redis.exists(key(redis_prefix, "wake:ghost"))
        wake = key(redis_prefix, f"wake:{worker._reader_id}")
        assert await redis.xlen(wake) == 1
        assert 0 < await redis.pttl(readers) <= 30_000
    assert not await redis.hexists(readers, worker._reader_id)
    assert not await redis.exists(wake)


async def test_a_stop_request_reaches_own_subscribers_without_a_wake_up(
    made: Callable[..., RedisBackend],
) -> None:
    worker = made(read_gather=0.005)
    await worker.open_log("s", 0)
    assert await worker.acquire_reply("s", "r1", ttl=30)
    async with worker.subscribe("s", after=0) as events:
        await settled(worker)
        answers = worker.reader.answers
        seq = await worker.request_stop("s", "r1", ReplyStop(reply_id="r1", by=Role.TEACHER))
        stop = (await take(events, 2))[1]
        assert isinstance(stop, ReplyStop) and stop.seq == seq
        assert worker.reader.answers == answers


async def test_a_refused_registration_still_reads_at_the_block_timeout(
    made: Callable[..., RedisBackend], redis: Redis, redis_url: str, redis_prefix: str
) -> None:
    """A registration Redis refuses (READONLY on a replica after a failover, OOM): the
    reader goes on, reading every stream at each block timeout (it failed every
    subscriber before: the error ended the lane)."""
    writer = made()
    await writer.open_log("s", 0)

    async def epochs(sessions: list[str]) -> list[str | None]:
        return [None for _ in sessions]

    refusing = redis.register_script("return redis.error_reply('READONLY replica')")
    reader = StreamReader(redis_url, redis, epochs, reader_id="r", registrar=refusing, block_ms=200)
    info = await writer.log_info("s")
    assert info is not None
    sub = Subscriber("s", 0, info.epoch, maxsize=0)
    try:
        await reader.add(key(redis_prefix, "log"), sub, 0)
        await until_live(lambda: reader.blocked)
        await writer.append("s", [delta(1), delta(2)])
        await until_live(lambda: len(sub.queue) == 2)
        assert [text_of(entry.event) for entry in sub.queue] == ["1", "2"]
        assert reader.running and not await redis.exists(key(redis_prefix, "readers"))
    finally:
        await reader.aclose()


async def test_a_log_rebuilt_under_subscribers_is_noticed_at_the_next_own_append(
    made: Callable[..., RedisBackend], redis: Redis, redis_prefix: str
) -> None:
    """Redis lost the session's log (its keys evicted) while the reader blocks on its
    wake stream, and this worker opens it again and appends: no other process appends to
    wake the reader, so the append itself has the stream read, which tells the
    subscriber of the new epoch (it waited out the reader's block, an hour here)."""
    worker = made(read_block_ms=3_600_000)
    await worker.open_log("s", 0)
    async with worker.subscribe("s", after=0) as events:
        await worker.append("s", [delta(1)])
        assert len(await take(events, 1)) == 1
        await until_live(lambda: worker.reader.blocked)
        await redis.delete(*(f"{redis_prefix}:{{s}}:{name}" for name in ("meta", "log")))
        await worker.open_log("s", 0)
        await worker.append("s", [delta(1)])
        with pytest.raises(Exception) as failure:
            await take(events, 1)
    assert getattr(failure.value, "reason", None) == "epoch_changed"
