"""A worker's Redis connections pack commands with hiredis in one call
(:mod:`realtime.backends.redis_packing`): the bytes must be redis-py's own, what redis-py
refuses must still be refused, and commands must run against the real server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.connection import Connection, SSLConnection, UnixDomainSocketConnection
from redis.exceptions import DataError

from realtime.backends.redis_packing import hiredis_packing
from realtime.backends.redis_pool import redis_client
from realtime.backends.redis_routing import blocking_client

ARGUMENTS: list[tuple[Any, ...]] = [
    ("EVALSHA", "a" * 40, 3, "k1", "k2", "k3", 1000, 600_000, 1, '{"text":"caf\u00e9"}', "0"),
    ("SET", "k", "\u27e612@1.5\u27e7 \U0001f600 \u201cquoted\u201d"),
    ("SET", b"k", b"\x00\xff\r\n"),
    ("SET", "k", 1.5),
    ("SET", "k", 0.1),
    ("SET", "k", -3),
    ("SET", "k", 2**70),
    ("CLIENT UNBLOCK", 7),
    (b"CONFIG GET", b"maxmemory"),
    ("XREAD", "COUNT", 500, "BLOCK", 5000, "STREAMS", "a", "b", "1-0", "2-0"),
]


@pytest.mark.parametrize("arguments", ARGUMENTS)
def test_packs_the_bytes_redis_py_packs(arguments: tuple[Any, ...]) -> None:
    ours, theirs = hiredis_packing(Connection)(), Connection()
    assert b"".join(ours.pack_command(*arguments)) == b"".join(theirs.pack_command(*arguments))
    batch: list[tuple[Any, ...]] = [arguments, ("PING",), arguments]
    assert b"".join(ours.pack_commands(batch)) == b"".join(theirs.pack_commands(batch))


@pytest.mark.parametrize("odd", [True, None, object()])
def test_what_redis_py_refuses_is_refused(odd: Any) -> None:
    with pytest.raises(DataError):
        hiredis_packing(Connection)().pack_command("SET", "k", odd)


def test_other_encodings_go_redis_pys_way() -> None:
    latin = hiredis_packing(Connection)(encoding="latin-1")
    assert b"".join(latin.pack_command("SET", "k", "caf\u00e9")).endswith(b"caf\xe9\r\n")


def test_one_class_per_base_and_never_wrapped_twice() -> None:
    for base in (Connection, SSLConnection, UnixDomainSocketConnection):
        made = hiredis_packing(base)
        assert issubclass(made, base) and made is not base
        assert hiredis_packing(base) is made and hiredis_packing(made) is made


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[Redis]:
    made = redis_client(redis_url, decode_responses=True)
    assert isinstance(made, Redis)
    try:
        yield made
    finally:
        await made.aclose()


@pytest.mark.redis
async def test_the_workers_clients_run_commands_packed_this_way(
    client: Redis, redis_url: str, redis_prefix: str
) -> None:
    pool = client.connection_pool
    assert pool.connection_class is hiredis_packing(Connection)
    text = "\u27e612@1.5\u27e7 \U0001f600 caf\u00e9"
    await client.set(f"{redis_prefix}:k", text)
    assert await client.get(f"{redis_prefix}:k") == text
    assert int(await client.client_id()) > 0
    with pytest.raises(DataError):
        await client.set(f"{redis_prefix}:k", True)
    blocking = blocking_client(redis_url)
    try:
        assert blocking.connection_pool.connection_class is hiredis_packing(Connection)
        await blocking.xadd(f"{redis_prefix}:s", {"e": text}, id="1-0")
        found = await blocking.xread({f"{redis_prefix}:s": "0-0"}, count=10, block=100)
        assert found == [[f"{redis_prefix}:s", [("1-0", {"e": text})]]]
    finally:
        await blocking.aclose()
