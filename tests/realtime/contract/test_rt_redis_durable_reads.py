"""The flusher's look at many durable streams on a standalone Redis: one pipeline per
page of sessions, and a lost connection in our words."""

from __future__ import annotations

import pytest

from realtime.backends import BackendUnavailable
from realtime.backends.redis import RedisBackend
from realtime.backends.redis_many import DURABLE_PAGE
from tests.realtime.contract.rt_helpers import message
from tests.support.redis_writes import redis_writes
from tests.support.tcpproxy import running_proxy

pytestmark = pytest.mark.redis


async def test_many_durable_reads_take_one_round_trip_a_page(
    redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``read_durable_many``'s XRANGEs go in one pipeline per ``DURABLE_PAGE`` sessions,
    not one round trip each (counted at the socket: every write carrying an XRANGE)."""
    backend = RedisBackend(redis_url, key_prefix=redis_prefix)
    try:
        await backend.open_log("s1", 0)
        await backend.append("s1", [message(1)])
        await backend.current_reply("s1")  # the pool's connection and its handshake
        with redis_writes(monkeypatch) as sent:
            found = await backend.read_durable_many([f"s{n}" for n in range(1, 26)], 10)
        assert [len(events) for events in found] == [1] + [0] * 24
        assert sent == ["XRANGE"]
        with redis_writes(monkeypatch) as sent:
            await backend.read_durable_many([f"s{n}" for n in range(DURABLE_PAGE + 1)], 10)
        assert sent == ["XRANGE", "XRANGE"]
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
