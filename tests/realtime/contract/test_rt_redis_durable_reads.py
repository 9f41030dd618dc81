"""The flusher's look at many durable streams, and its trims after a commit, on a
standalone Redis: one write per page of sessions on the worker's script connection, and a
lost connection in our words."""

from __future__ import annotations

import pytest

from realtime.backends import BackendUnavailable
from realtime.backends.redis import RedisBackend
from realtime.backends.redis_scripts import AT_ONCE, ScriptPipe
from realtime.backends.redis_wire import Wire
from tests.realtime.contract.rt_helpers import message
from tests.support.redis_writes import as_if_warm, redis_writes
from tests.support.tcpproxy import running_proxy

pytestmark = pytest.mark.redis


async def test_many_durable_reads_take_one_write_a_page(
    redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``read_durable_many``'s reads go on the worker's script connection, ``AT_ONCE`` in
    one write, not one round trip each and none through redis-py's pool (counted at the
    socket: every write)."""
    backend = RedisBackend(redis_url, key_prefix=redis_prefix)
    try:
        await backend.open_log("s1", 0)
        await backend.append("s1", [message(1)])
        await backend.read_durable_many(["s1"], 10)  # Redis knows the script from here on
        pipe = backend.scripts
        assert isinstance(pipe, ScriptPipe) and isinstance(pipe.wire, Wire)
        wire = pipe.wire
        writes, commands = wire.writes, wire.commands
        with redis_writes(monkeypatch) as sent:
            found = await backend.read_durable_many([f"s{n}" for n in range(1, 26)], 10)
        assert [[event.seq for event in events] for events in found] == [[1]] + [[]] * 24
        assert as_if_warm(sent) == ["EVALSHA"] * 25  # on the pipe: redis-py wrote nothing
        assert (wire.writes - writes, wire.commands - commands) == (1, 25)
        writes = wire.writes
        await backend.read_durable_many([f"s{n}" for n in range(AT_ONCE + 1)], 10)
        assert wire.writes - writes == 2
    finally:
        await backend.aclose()


async def test_a_commit_s_trims_take_one_write_a_page(
    redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The flusher trims every session of a commit with one ``trim_durable``: on the
    script connection, ``AT_ONCE`` calls in one write, where each was a round trip
    through redis-py's pool."""
    backend = RedisBackend(redis_url, key_prefix=redis_prefix)
    try:
        for sid in ("s1", "s2"):
            await backend.open_log(sid, 0)
            await backend.append(sid, [message(1), message(2)])
        await backend.trim_durable({"s0": 1})  # Redis knows the script from here on
        pipe = backend.scripts
        assert isinstance(pipe, ScriptPipe) and isinstance(pipe.wire, Wire)
        wire = pipe.wire
        writes = wire.writes
        upto = {f"s{n}": 1 for n in range(1, 26)}
        with redis_writes(monkeypatch) as sent:
            await backend.trim_durable(upto)
        assert as_if_warm(sent) == ["EVALSHA"] * 25  # on the pipe: redis-py wrote nothing
        assert wire.writes - writes == 1
        found = await backend.read_durable_many(["s1", "s2"], 10)
        assert [[event.seq for event in events] for events in found] == [[2], [2]]
        writes = wire.writes
        await backend.trim_durable({f"s{n}": 2 for n in range(AT_ONCE + 1)})
        assert wire.writes - writes == 2
        assert await backend.read_durable_many(["s1", "s2"], 10) == [[], []]
    finally:
        await backend.aclose()


async def test_many_durable_reads_on_a_lost_connection_raise_backend_unavailable(
    redis_url: str, redis_prefix: str
) -> None:
    host, _, port = redis_url.split("//", 1)[1].split("/", 1)[0].partition(":")
    with running_proxy(host, int(port or 6379)) as proxy:
        backend = RedisBackend(f"redis://127.0.0.1:{proxy.port}/0", key_prefix=redis_prefix)
        try:
            await backend.open_log("s1", 0)
            await backend.append("s1", [message(1)])
            assert [len(e) for e in await backend.read_durable_many(["s1", "s2"], 5)] == [1, 0]
            proxy.cut()
            with pytest.raises(BackendUnavailable):
                await backend.read_durable_many(["s1", "s2"], 5)
            proxy.restore()
            assert [len(e) for e in await backend.read_durable_many(["s1", "s2"], 5)] == [1, 0]
        finally:
            await backend.aclose()
