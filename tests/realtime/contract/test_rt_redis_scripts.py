"""A standalone Redis backend pipelines a worker's script calls on a connection of its own
(``ScriptPipe`` over ``redis_wire.Wire``): what the shared contract cannot see, checked
against the real Redis server. The connection's own life (its dial, timeouts, closing)
is in ``test_rt_redis_wire.py``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from realtime.backends import BackendUnavailable, LogMissing
from realtime.backends.redis import RedisBackend
from realtime.backends.redis_scripts import ScriptPipe
from tests.realtime.contract.redis_pipe_rig import Rig, in_flight, proxied
from tests.realtime.contract.rt_helpers import delta, eventually, text_of
from tests.support.tcpproxy import running_proxy

pytestmark = pytest.mark.redis


async def test_calls_made_together_go_out_in_one_write_and_answer_in_order(rig: Rig) -> None:
    writes, commands = rig.wire.writes, rig.wire.commands
    made = [rig.run(value) for value in ("a", "b", "c")]
    assert await asyncio.gather(*made) == ["a", "b", "c"]
    assert (rig.wire.writes - writes, rig.wire.commands - commands) == (1, 3)
    assert await rig.count() == 3


async def test_calls_go_out_while_others_wait_for_their_answers(rig: Rig) -> None:
    """Nothing waits for a round trip before writing: the calls behind a held answer run
    at once, and their answers come in order once the first's is let go."""
    first = await in_flight(rig)
    waiting = [rig.run(value) for value in ("a", "b", "c")]
    await rig.counted(4)  # all ran; every answer is still held
    assert not any(call.done() for call in (first, *waiting))
    rig.proxy.release_replies()
    assert await first == "first"
    assert await asyncio.gather(*waiting) == ["a", "b", "c"]


async def test_text_beyond_ascii_goes_through_alone_and_together(rig: Rig) -> None:
    """hiredis packs the text as UTF-8: what Redis runs the script with is the text given,
    a character of two, three and four bytes included."""
    said = ["caf\u00e9 \u201cquoted\u201d", "\u27e612@1.5\u27e7", "\U0001f600 ok", "\u00a0"]
    assert await rig.run(said[0]) == said[0]
    assert await asyncio.gather(*(rig.run(text) for text in said[1:])) == said[1:]


async def test_a_script_error_fails_only_its_own_call(rig: Rig) -> None:
    first = await in_flight(rig)
    before = rig.run("a")
    gone = rig.run("b", log=f"{rig.log}:missing")
    after = rig.run("c")
    await rig.counted(3)
    rig.proxy.release_replies()
    assert (await first, await before, await after) == ("first", "a", "c")
    with pytest.raises(ResponseError, match="NOLOG"):
        await gone
    assert rig.pipe.dialled == 1  # the connection carries on


# SCRIPT FLUSH is the whole server's: beside it, a test holding a script's answer gets
# NOSCRIPT instead, and another test's load undoes the flush (make test runs it alone).
@pytest.mark.serial
async def test_lost_scripts_run_again_as_eval_and_only_the_refused_calls(rig: Rig) -> None:
    first = await in_flight(rig)
    await rig.redis.script_flush()  # as after a Redis restart
    waiting = [rig.run(value) for value in ("a", "b")]  # refused, answers held
    rig.proxy.release_replies()
    assert await first == "first"
    assert await asyncio.gather(*waiting) == ["a", "b"]
    assert await rig.count() == 3  # each ran once
    # EVAL loaded the script: the next call's EVALSHA is not refused.
    commands = rig.wire.commands
    assert await rig.run("warm again") == "warm again"
    assert rig.wire.commands - commands == 1
    # A call alone is refused and runs again the same way.
    await rig.redis.script_flush()
    assert await rig.run("alone") == "alone"
    assert await rig.count() == 5


#: A second script: the calls of a reply (its lease, its release) share the appends' pipe.
ECHOING = "redis.call('INCR', KEYS[1]) return 'echo:' .. ARGV[1]"


async def test_calls_of_different_scripts_share_a_write_in_order(rig: Rig) -> None:
    echoing = rig.proxied.register_script(ECHOING)
    await rig.redis.script_load(ECHOING)  # known to Redis: no refusal
    first = await in_flight(rig)
    writes = rig.wire.writes
    made = [
        rig.run("a"),
        asyncio.ensure_future(rig.pipe.run(echoing, [rig.runs], ["b"])),
        rig.run("c"),
    ]
    await rig.counted(4)
    assert rig.wire.writes - writes == 1
    rig.proxy.release_replies()
    assert (await first, *await asyncio.gather(*made)) == ("first", "a", "echo:b", "c")


@pytest.mark.serial
async def test_each_lost_script_of_a_write_is_loaded_again(rig: Rig) -> None:
    echoing = rig.proxied.register_script(ECHOING)
    first = await in_flight(rig)
    await rig.redis.script_flush()  # neither script is known to Redis now
    made = [rig.run("a"), asyncio.ensure_future(rig.pipe.run(echoing, [rig.runs], ["b"]))]
    rig.proxy.release_replies()
    assert (await first, *await asyncio.gather(*made)) == ("first", "a", "echo:b")
    assert await rig.count() == 3


async def test_a_call_cancelled_before_it_is_written_never_runs(rig: Rig) -> None:
    dropped, kept = rig.run("dropped"), rig.run("kept")
    await asyncio.sleep(0)  # both made their call; the write comes after this turn
    dropped.cancel()
    assert await kept == "kept"
    with pytest.raises(asyncio.CancelledError):
        await dropped
    assert await rig.count() == 1


async def test_a_call_cancelled_after_it_was_written_keeps_the_connection_in_step(
    rig: Rig,
) -> None:
    first = await in_flight(rig)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    after = rig.run("after")
    await rig.counted(2)
    rig.proxy.release_replies()
    assert await after == "after"  # not "first": that answer was read and dropped
    assert rig.pipe.dialled == 1


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
    pipe = backend.scripts
    assert isinstance(pipe, ScriptPipe) and pipe.wire is not None
    # 200 appends, 20 made in each turn of the loop: they share writes.
    assert pipe.wire.commands >= 200
    assert pipe.wire.writes <= pipe.wire.commands // 4


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
    with running_proxy(*proxied(redis_url)) as proxy:
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
    with running_proxy(*proxied(redis_url)) as proxy:
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
