"""A connection dropped by a task that is cancelled meanwhile is still closed.

redis-py's ``Redis.aclose`` forgets its connection before its first await and closes the
socket after it; a cancel landing in between (a Cluster reader lane retiring while the
backend closes) left an open socket for the garbage collector. It surfaced as an
"unclosed Connection" ResourceWarning in whichever test ran next, about one CI run in
three. Checked against the real Redis server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import pytest
from redis.asyncio import Redis

from realtime.backends.redis_lane import Lane, Registrar
from realtime.backends.redis_revocations import _Listener
from realtime.backends.redis_routing import Standalone, blocking_client

pytestmark = pytest.mark.redis


async def cancelled_after_one_step(closing: Coroutine[Any, Any, None]) -> None:
    task = asyncio.create_task(closing)
    await asyncio.sleep(0)  # one loop step: the task is at its first await, no race
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.fixture
async def routing(redis_url: str) -> AsyncIterator[Standalone]:
    commands = Redis.from_url(redis_url, decode_responses=True)
    try:
        yield Standalone(redis_url, commands)
    finally:
        await commands.aclose()


async def test_redis_py_alone_leaves_the_socket_open(redis_url: str) -> None:
    """The premise: should redis-py ever close before its first await, the fix is moot."""
    client = blocking_client(redis_url)
    await client.ping()
    connection = client.connection
    assert connection is not None
    try:
        await cancelled_after_one_step(client.aclose())
        assert connection.is_connected
    finally:
        await connection.disconnect()


async def test_a_reader_lane_closes_its_connection_before_any_await_a_cancel_could_hit(
    routing: Standalone, redis_url: str
) -> None:
    """A lane's connection is the script pipe's kind (``redis_wire.Wire``): closing it
    is one call, done in the dropping task's first step."""

    async def no_epochs(sessions: list[str]) -> list[str | None]:
        return [None for _ in sessions]

    registrar = Registrar("r", Redis.from_url(redis_url).register_script("return 0"))
    lane = Lane(0, routing, no_epochs, registrar, 1_000, 0.0, on_idle=lambda _: None)
    wire = await lane._connection()
    assert not wire.lost
    dropping = asyncio.create_task(lane.drop_connection())
    await asyncio.sleep(0)  # its first step
    assert dropping.done() and wire.lost


async def test_a_revocation_listener_cancelled_while_dropping_its_connection_closes_it(
    routing: Standalone,
) -> None:
    listener = _Listener("revocations-closing-test", routing, block_ms=1_000)
    client = await listener._connection()
    await client.ping()
    connection = client.connection
    assert connection is not None and connection.is_connected
    await cancelled_after_one_step(listener.drop_connection())
    assert not connection.is_connected
