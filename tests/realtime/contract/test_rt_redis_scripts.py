"""A standalone Redis backend pipelines a worker's script calls (``ScriptBatcher``): what
the shared contract cannot see, checked against the real Redis server.

The batcher's own tests run its connection through a proxy that holds Redis's answers, so
an append stays "in flight" (sent, run, unanswered) exactly as long as the test says, and
count the script's runs in Redis itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from realtime.backends import BackendUnavailable, LogMissing
from realtime.backends.redis import RedisBackend
from realtime.backends.redis_pool import redis_client
from realtime.backends.redis_scripts import MAX_BATCH, ScriptBatcher
from tests.realtime.contract.rt_helpers import delta, eventually, text_of
from tests.support.tcpproxy import TcpProxy, running_proxy

pytestmark = pytest.mark.redis

#: Counts its runs in KEYS[1]; fails like the append script when KEYS[2] is missing.
COUNTING = """
if redis.call('EXISTS', KEYS[2]) == 0 then return redis.error_reply('NOLOG gone') end
redis.call('INCR', KEYS[1])
return ARGV[1]
"""


def _proxied(redis_url: str) -> tuple[str, int]:
    host, _, port = redis_url.split("//", 1)[1].split("/", 1)[0].partition(":")
    return host, int(port or 6379)


class Rig:
    """A batcher whose connection runs through a proxy that can hold Redis's answers,
    and a direct client to read what ran."""

    def __init__(self, redis_url: str, proxy: TcpProxy, prefix: str) -> None:
        self.proxy = proxy
        self.redis: Redis = Redis.from_url(redis_url, decode_responses=True)
        # Made as a worker makes its client (its pool's connections pack with hiredis).
        proxied = redis_client(f"redis://127.0.0.1:{proxy.port}/0", decode_responses=True)
        assert isinstance(proxied, Redis)
        self.proxied = proxied
        self.batcher = ScriptBatcher(self.proxied)
        self.counting = self.proxied.register_script(COUNTING)
        self.runs, self.log = f"{prefix}:runs", f"{prefix}:log"

    def run(self, value: str, *, log: str | None = None) -> asyncio.Future[Any]:
        keys = [self.runs, log or self.log]
        return asyncio.ensure_future(self.batcher.run(self.counting, keys, [value]))

    async def count(self) -> int:
        return int(await self.redis.get(self.runs) or 0)

    async def hold(self) -> None:
        """The next append goes out, runs, and waits for its answer until let_go."""
        self.proxy.hold_replies()

    async def let_go(self) -> None:
        self.proxy.release_replies()

    async def aclose(self) -> None:
        await self.batcher.aclose()
        await self.proxied.aclose()
        await self.redis.aclose()


@pytest.fixture
async def rig(redis_url: str, redis_prefix: str) -> AsyncIterator[Rig]:
    with running_proxy(*_proxied(redis_url)) as proxy:
        made = Rig(redis_url, proxy, redis_prefix)
        try:
            await made.redis.set(made.log, "1")
            await made.run("warm")  # the connection and its handshake, before any hold
            await made.redis.delete(made.runs)
            yield made
        finally:
            await made.aclose()


async def in_flight_then_waiting(rig: Rig, *values: str) -> tuple[Any, list[Any]]:
    """An append in flight (it ran; its answer is held), then ``values`` waiting
    behind it."""
    await rig.hold()
    first = rig.run("first")
    await eventually(lambda: _counted(rig, 1))
    waiting = [rig.run(value) for value in values]
    await asyncio.sleep(0)  # each reaches the batcher's queue on its first step
    return first, waiting


async def _counted(rig: Rig, n: int) -> bool:
    return await rig.count() == n


async def test_what_waits_goes_out_in_one_pipeline_in_order(rig: Rig) -> None:
    first, waiting = await in_flight_then_waiting(rig, "a", "b", "c")
    await rig.let_go()
    assert await first == "first"
    assert await asyncio.gather(*waiting) == ["a", "b", "c"]
    assert (rig.batcher.batches, rig.batcher.batched, await rig.count()) == (1, 3, 4)
    # The connection is free again: the next append goes out at once, on its own.
    assert await rig.run("alone") == "alone"
    assert rig.batcher.batches == 1


async def test_text_beyond_ascii_goes_through_alone_and_in_a_pipeline(rig: Rig) -> None:
    """The batcher's connection packs its commands with hiredis (UTF-8): what Redis runs
    the script with is the text given, a character of two, three and four bytes included."""
    said = ["caf\u00e9 \u201cquoted\u201d", "\u27e612@1.5\u27e7", "\U0001f600 ok", "\u00a0"]
    first, waiting = await in_flight_then_waiting(rig, *said[1:])
    await rig.let_go()
    await first
    assert await asyncio.gather(*waiting) == said[1:]
    assert rig.batcher.batches == 1
    assert await rig.run(said[0]) == said[0]  # the connection free: alone
    assert rig.batcher.batches == 1


async def test_a_script_error_fails_only_its_own_append(rig: Rig) -> None:
    first, waiting = await in_flight_then_waiting(rig, "a")
    gone = rig.run("b", log=f"{rig.log}:missing")
    after = rig.run("c")
    await asyncio.sleep(0)
    await rig.let_go()
    await first
    assert await waiting[0] == "a" and await after == "c"
    with pytest.raises(ResponseError, match="NOLOG"):
        await gone
    assert rig.batcher.batches == 1


# SCRIPT FLUSH is the whole server's: beside it, a test holding a script's answer gets
# NOSCRIPT instead, and another test's load undoes the flush (make test runs it alone).
@pytest.mark.serial
async def test_lost_scripts_are_loaded_and_only_refused_appends_sent_again(rig: Rig) -> None:
    first, waiting = await in_flight_then_waiting(rig, "a", "b")
    await rig.redis.script_flush()  # as after a Redis restart
    await rig.let_go()
    assert await first == "first"
    assert await asyncio.gather(*waiting) == ["a", "b"]
    # Two pipelines: the one Redis refused with NOSCRIPT, and the same appends again.
    assert (rig.batcher.batches, await rig.count()) == (2, 3)
    # An append alone is loaded and sent again the same way.
    await rig.redis.script_flush()
    assert await rig.run("alone") == "alone"
    assert await rig.count() == 4


#: A second script: the calls of a reply (its lease, its release) share the appends' pipes.
ECHOING = "redis.call('INCR', KEYS[1]) return 'echo:' .. ARGV[1]"


async def test_calls_of_different_scripts_share_a_pipeline_in_order(rig: Rig) -> None:
    echoing = rig.proxied.register_script(ECHOING)
    await rig.redis.script_load(ECHOING)  # known to Redis: one pipeline, no reload
    first, waiting = await in_flight_then_waiting(rig, "a")
    echoed = asyncio.ensure_future(rig.batcher.run(echoing, [rig.runs], ["b"]))
    after = rig.run("c")
    await asyncio.sleep(0)
    await rig.let_go()
    assert (await first, await waiting[0], await echoed, await after) == (
        "first",
        "a",
        "echo:b",
        "c",
    )
    assert (rig.batcher.batches, rig.batcher.batched, await rig.count()) == (1, 3, 4)


@pytest.mark.serial
async def test_each_lost_script_of_a_pipeline_is_loaded_again(rig: Rig) -> None:
    echoing = rig.proxied.register_script(ECHOING)
    first, waiting = await in_flight_then_waiting(rig, "a")
    echoed = asyncio.ensure_future(rig.batcher.run(echoing, [rig.runs], ["b"]))
    await asyncio.sleep(0)
    await rig.redis.script_flush()  # neither script is known to Redis now
    await rig.let_go()
    assert (await first, await waiting[0], await echoed) == ("first", "a", "echo:b")
    assert (rig.batcher.batches, await rig.count()) == (2, 3)


async def test_an_append_cancelled_before_it_is_sent_never_runs(rig: Rig) -> None:
    first, (dropped, kept) = await in_flight_then_waiting(rig, "dropped", "kept")
    dropped.cancel()
    await rig.let_go()
    assert (await first, await kept) == ("first", "kept")
    with pytest.raises(asyncio.CancelledError):
        await dropped
    assert await rig.count() == 2


async def test_a_backlog_goes_out_in_bounded_pipelines(rig: Rig) -> None:
    n = MAX_BATCH * 2 + 5
    first, waiting = await in_flight_then_waiting(rig, *(str(i) for i in range(n)))
    await rig.let_go()
    await first
    assert await asyncio.gather(*waiting) == [str(i) for i in range(n)]
    assert (rig.batcher.batches, rig.batcher.batched, await rig.count()) == (3, n, n + 1)


async def test_closing_fails_what_waits_and_refuses_more(rig: Rig) -> None:
    first, waiting = await in_flight_then_waiting(rig, "a")
    closing = asyncio.ensure_future(rig.batcher.aclose())
    await asyncio.sleep(0)
    await rig.let_go()
    await closing
    assert await first == "first"
    with pytest.raises(BackendUnavailable):
        await waiting[0]
    with pytest.raises(BackendUnavailable):
        await rig.run("late")
    assert await rig.count() == 1


# 0: the check of a connection idle that long finds it closed; an hour: the end its stream
# has seen does (a presence touch or a lease renewal soon after a Redis restart).
@pytest.mark.parametrize("idle_check", [0.0, 3_600.0])
async def test_a_connection_closed_while_idle_is_replaced_before_the_next_append(
    redis_url: str, redis_prefix: str, idle_check: float
) -> None:
    with running_proxy(*_proxied(redis_url)) as proxy:
        proxied = Redis.from_url(f"redis://127.0.0.1:{proxy.port}/0", decode_responses=True)
        batcher = ScriptBatcher(proxied, idle_check=idle_check)
        counting = proxied.register_script(COUNTING)
        keys = [f"{redis_prefix}:runs", f"{redis_prefix}:log"]
        try:
            await proxied.set(keys[1], "1")
            assert await batcher.run(counting, keys, ["before"]) == "before"
            proxy.cut()  # as Redis closing an idle client, or restarting
            proxy.restore()
            # The reset is already on this socket (loopback; cut() returns after it): one
            # I/O poll reads it, the next runs the transport's connection_lost. An idle
            # worker's loop has long done both before its next append.
            for _ in range(3):
                await asyncio.sleep(0)
            assert await batcher.run(counting, keys, ["after"]) == "after"
        finally:
            await batcher.aclose()
            await proxied.aclose()


# -- through the backend ---------------------------------------------------------------------

SESSIONS = 20


@pytest.fixture
async def backend(redis_url: str, redis_prefix: str) -> AsyncIterator[RedisBackend]:
    made = RedisBackend(redis_url, key_prefix=redis_prefix)
    try:
        yield made
    finally:
        await made.aclose()


async def test_sessions_streaming_together_share_pipelines_and_keep_their_order(
    backend: RedisBackend,
) -> None:
    sessions = [f"s{i}" for i in range(SESSIONS)]
    for session in sessions:
        await backend.open_log(session, 0)

    async def stream(session: str) -> list[int]:
        seqs: list[int] = []
        for i in range(1, 11):
            seqs += await backend.append(session, [delta(i)])
        return seqs

    every = await asyncio.gather(*(stream(session) for session in sessions))

    assert every == [list(range(1, 11))] * SESSIONS
    for session in sessions:
        events = await backend.read(session, 0, 100)
        assert [text_of(e) for e in events] == [str(i) for i in range(1, 11)]
    appends = backend.scripts
    assert isinstance(appends, ScriptBatcher)
    # 200 appends, at most one command in flight at a time: most went out in pipelines.
    assert appends.batched >= 100
    assert appends.batches <= appends.batched // 2


async def test_a_missing_log_in_a_pipeline_is_log_missing(backend: RedisBackend) -> None:
    await backend.open_log("here", 0)
    results = await asyncio.gather(
        backend.append("here", [delta(1)]),
        backend.append("gone", [delta(2)]),
        backend.append("here", [delta(3), delta(4)]),
        return_exceptions=True,
    )
    assert results[0] == [1] and results[2] == [2, 3]
    assert isinstance(results[1], LogMissing)


async def test_a_lost_connection_fails_the_batch_and_the_next_append_works(
    redis_url: str, redis_prefix: str
) -> None:
    with running_proxy(*_proxied(redis_url)) as proxy:
        backend = RedisBackend(f"redis://127.0.0.1:{proxy.port}/0", key_prefix=redis_prefix)
        direct = Redis.from_url(redis_url, decode_responses=True)
        try:
            await backend.open_log("s", 0)
            await backend.append("s", [delta(0)])  # the append connection and its handshake
            # The next append runs and its answer is held: the cut finds it in flight
            # (without the hold, all three could be answered before the cut).
            proxy.hold_replies()
            pending = [asyncio.ensure_future(backend.append("s", [delta(i)])) for i in (1, 2, 3)]
            meta = f"{redis_prefix}:{{s}}:meta"
            await eventually(lambda: _seq_reached(direct, meta, 2))
            proxy.cut()
            outcomes = await asyncio.gather(*pending, return_exceptions=True)
            failed = [o for o in outcomes if isinstance(o, BaseException)]
            assert failed and all(isinstance(o, BackendUnavailable) for o in failed), outcomes
            proxy.release_replies()
            proxy.restore()
            (seq,) = await backend.append("s", [delta(4)])
            info = await backend.log_info("s")
            assert info is not None and seq == info.last_seq
        finally:
            await backend.aclose()
            await direct.aclose()


async def _seq_reached(redis: Redis, meta: str, seq: int) -> bool:
    return int(await redis.hget(meta, "seq") or 0) >= seq


async def test_an_append_whose_reply_is_lost_ran_once_and_fails(
    redis_url: str, redis_prefix: str
) -> None:
    """At most once: Redis ran the script, the answer never came back. A client that
    sent it again on a fresh connection (redis-py retries when told to) would log the
    event twice, a repeated word in the student's reply."""
    with running_proxy(*_proxied(redis_url)) as proxy:
        backend = RedisBackend(f"redis://127.0.0.1:{proxy.port}/0", key_prefix=redis_prefix)
        try:
            await backend.open_log("s", 0)
            await backend.append("s", [delta(1)])
            proxy.lose_next_reply()
            with pytest.raises(BackendUnavailable):
                await backend.append("s", [delta(2)])
            await backend.append("s", [delta(3)])
            assert [text_of(e) for e in await backend.read("s", 0, 10)] == ["1", "2", "3"]
        finally:
            await backend.aclose()
