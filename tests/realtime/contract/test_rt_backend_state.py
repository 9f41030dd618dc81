"""Contract: claims, the reply lock, stop across workers, presence and key expiry."""

from __future__ import annotations

import asyncio

import pytest

from realtime.backends import LogMissing, RealtimeBackend
from realtime.backends.base import SayClaim
from realtime.protocol import Presence, ReplyStart, ReplyStop, Role
from tests.realtime.contract.rt_helpers import Workers, delta, eventually, take

pytestmark = pytest.mark.redis


def stop_event(reply_id: str) -> ReplyStop:
    return ReplyStop(reply_id=reply_id, by=Role.TEACHER)


async def test_claim_once_dedups_a_retried_say(workers: Workers, session_id: str) -> None:
    a, b = workers.make(), workers.make()
    results = await asyncio.gather(*(w.claim_once(session_id, "say:c1", 60) for w in (a, b) * 5))
    assert sorted(results) == [False] * 9 + [True]
    assert await a.claim(session_id, "say:c1", 60) == ""  # first caller still at work
    await a.record_claim(session_id, "say:c1", "12:m-7")
    assert await b.claim(session_id, "say:c1", 60) == "12:m-7"
    assert await b.claim_once(session_id, "say:other", 60)


async def test_claim_takes_an_unknown_key_once_and_tells_the_rest_what_it_holds(
    workers: Workers, session_id: str
) -> None:
    a, b = workers.make(), workers.make()
    results = await asyncio.gather(*(w.claim(session_id, "say:c2", 60) for w in (a, b) * 5))
    assert sorted(results, key=str) == [""] * 9 + [None]  # one claimed it; 9 see it at work
    await a.record_claim(session_id, "say:c2", "14:m-8")
    assert await b.claim(session_id, "say:c2", 60) == "14:m-8"
    assert await b.claim(session_id, "say:c3", 0.05) is None
    await eventually(lambda: _claimed_anew(b, session_id, "say:c3"))  # the claim expired


async def _claimed_anew(backend: RealtimeBackend, session_id: str, key: str) -> bool:
    return await backend.claim(session_id, key, 60) is None


async def test_claims_expire(workers: Workers, session_id: str) -> None:
    backend = workers.make()
    assert await backend.claim_once(session_id, "k", 0.05)

    await eventually(lambda: backend.claim_once(session_id, "k", 60))


async def test_a_says_opening_takes_the_lock_reads_the_log_and_claims_only_with_the_lock(
    workers: Workers, session_id: str
) -> None:
    a, b = workers.make(), workers.make()
    gone = await a.open_say(session_id, "r0", 30, 0, SayClaim("say:c0", 60))
    assert (gone.acquired, gone.since, gone.recorded) == (True, None, None)  # no log yet
    assert await a.release_reply(session_id, "r0")
    await a.open_log(session_id, 0)
    await a.append(session_id, [delta(1), delta(2), delta(3)])
    first = await a.open_say(session_id, "r1", 30, 1, SayClaim("say:c1", 60))
    assert first.acquired and first.recorded is None  # claimed now
    assert first.since is not None
    info, events = first.since
    assert (info.last_seq, [e.seq for e in events]) == (3, [2, 3])
    # Held: the log is still read (to see whether the holder ended), the claim untouched.
    held = await b.open_say(session_id, "r2", 30, 3, SayClaim("say:c2", 60))
    assert (held.acquired, held.recorded) == (False, None)
    assert held.since is not None and held.since[1] == []
    assert await b.current_reply(session_id) == "r1"
    assert await b.claim(session_id, "say:c2", 60) is None  # the held opening left it alone
    await a.record_claim(session_id, "say:c1", "2:m-1")
    assert await a.release_reply(session_id, "r1")
    again = await b.open_say(session_id, "r3", 30, 3, SayClaim("say:c1", 60))
    assert (again.acquired, again.recorded) == (True, "2:m-1")  # a retry sees the result
    retry = await a.open_say(session_id, "r4", 30, 3, SayClaim("say:c2", 60))
    assert not retry.acquired
    assert not await b.release_reply(session_id, "r4")  # r4 never took it
    assert await b.release_reply(session_id, "r3")
    at_work = await a.open_say(session_id, "r5", 30, 3, SayClaim("say:c2", 60))
    assert (at_work.acquired, at_work.recorded) == (True, "")  # first caller still at work


async def test_reply_lock_is_owned(workers: Workers, session_id: str) -> None:
    a, b = workers.make(), workers.make()
    assert await a.acquire_reply(session_id, "r1", 30)
    assert not await b.acquire_reply(session_id, "r2", 30)
    assert await b.current_reply(session_id) == "r1"
    assert not await b.release_reply(session_id, "r2")  # not the owner
    assert not await b.refresh_reply(session_id, "r2", 30)
    assert await a.refresh_reply(session_id, "r1", 30)
    assert await b.release_reply(session_id, "r1")
    assert not await a.release_reply(session_id, "r1")  # already released
    assert await a.current_reply(session_id) is None
    assert await b.acquire_reply(session_id, "r2", 30)


async def test_reply_lock_expires(workers: Workers, session_id: str) -> None:
    backend = workers.make()
    assert await backend.acquire_reply(session_id, "r1", 0.05)

    await eventually(lambda: backend.acquire_reply(session_id, "r2", 30))
    assert not await backend.release_reply(session_id, "r1")


async def test_stop_reaches_the_streaming_worker(workers: Workers, session_id: str) -> None:
    """Worker A streams reply r1 and follows the log; the stop arrives on worker B."""
    streamer, other = workers.make(), workers.make()
    await streamer.open_log(session_id, 0)
    assert await streamer.acquire_reply(session_id, "r1", 30)
    (start,) = await streamer.append(session_id, [ReplyStart(reply_id="r1")])
    async with streamer.subscribe(session_id, after=start) as events:
        assert await other.request_stop(session_id, "r2", stop_event("r2")) is None  # not running
        seq = await other.request_stop(session_id, "r1", stop_event("r1"))
        assert seq == start + 1
        assert await other.request_stop(session_id, "r1", stop_event("r1")) is None  # once
        (seen,) = await take(events, 1)
    assert seen == ReplyStop(reply_id="r1", by=Role.TEACHER, seq=seq)
    assert await streamer.stop_requested(session_id, "r1")
    assert [e.type for e in await streamer.read_durable(session_id, 0, 10)] == [
        "reply.start",
        "reply.stop",
    ]
    assert await streamer.release_reply(session_id, "r1")
    assert not await streamer.stop_requested(session_id, "r1")
    # A new reply starts with a clean stop flag.
    assert await streamer.acquire_reply(session_id, "r1b", 30)
    assert not await other.stop_requested(session_id, "r1b")


async def test_request_stop_needs_the_log(workers: Workers, session_id: str) -> None:
    backend = workers.make()
    await backend.acquire_reply(session_id, "r1", 30)
    with pytest.raises(LogMissing):
        await backend.request_stop(session_id, "r1", stop_event("r1"))


async def test_presence_counts_and_leave(workers: Workers, session_id: str) -> None:
    a, b = workers.make(), workers.make()
    assert await a.presence(session_id) == Presence(student_online=False, observers=0)
    await a.presence_touch(session_id, "c1", Role.STUDENT, 30)
    await b.presence_touch(session_id, "c2", Role.TEACHER, 30)
    now = await b.presence_touch(session_id, "c3", Role.TEACHER, 30)
    assert now == Presence(student_online=True, observers=2)
    assert await a.presence_touch(session_id, "c3", Role.TEACHER, 30) == now  # heartbeat
    assert await a.presence_leave(session_id, "c1") == Presence(student_online=False, observers=2)
    assert await b.presence_leave(session_id, "nobody") == Presence(
        student_online=False, observers=2
    )


async def test_presence_of_dead_workers_expires(workers: Workers, session_id: str) -> None:
    backend = workers.make()
    await backend.presence_touch(session_id, "alive", Role.TEACHER, 60)
    await backend.presence_touch(session_id, "dead", Role.STUDENT, 0.05)
    await backend.presence_touch(session_id, "dead2", Role.TEACHER, 0.05)

    async def expired() -> bool:
        return await backend.presence(session_id) == Presence(student_online=False, observers=1)

    await eventually(expired)


async def test_expire_session_keys_forgets_live_state(workers: Workers, session_id: str) -> None:
    backend = workers.make()
    await backend.open_log(session_id, 0)
    await backend.append(session_id, [delta(1)])
    await backend.acquire_reply(session_id, "r1", 30)
    await backend.presence_touch(session_id, "c1", Role.STUDENT, 30)
    await backend.expire_session_keys(session_id, 0.05)

    async def gone() -> bool:
        return await backend.log_info(session_id) is None

    await eventually(gone)
    assert await backend.current_reply(session_id) is None
    assert await backend.presence(session_id) == Presence(student_online=False, observers=0)


async def test_subscribers_learn_of_a_rebuilt_log(workers: Workers, session_id: str) -> None:
    """Live state lost under a subscriber: the next event carries a new epoch -> gap."""
    backend = workers.make()
    await backend.open_log(session_id, 0)
    await backend.append(session_id, [delta(1), delta(2)])
    async with backend.subscribe(session_id, after=0) as events:
        assert len(await take(events, 2)) == 2
        await backend.expire_session_keys(session_id, 0)
        await backend.open_log(session_id, floor_seq=0)
        await backend.append(session_id, [delta(1), delta(2), delta(3)])
        with pytest.raises(Exception) as failure:
            await take(events, 1)
    assert getattr(failure.value, "reason", None) == "epoch_changed"


def test_invalid_session_ids_are_refused(redis_url: str) -> None:
    from realtime.backends.redis import RedisBackend

    backend = RedisBackend(redis_url)
    with pytest.raises(ValueError):
        backend._key("a}b{c", "meta")
