"""A worker's Redis connections write commands without a task each (real Redis), and a
write that cannot go out still fails as redis-py's own does (a server that stops
reading)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Generator
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.connection import Connection, ConnectionPool
from redis.exceptions import TimeoutError as RedisTimeoutError

from realtime.backends.redis_pool import redis_client
from realtime.backends.redis_send import sending_without_task


class _TaskCount:
    def __init__(self) -> None:
        self.made = 0

    def __call__(
        self,
        loop: asyncio.AbstractEventLoop,
        coro: Coroutine[Any, Any, Any] | Generator[Any, None, Any],
        **kwargs: Any,
    ) -> asyncio.Task[Any]:
        self.made += 1
        return asyncio.Task(coro, loop=loop, **kwargs)


async def _tasks_made_by(work: Coroutine[Any, Any, None]) -> int:
    loop = asyncio.get_running_loop()
    count = _TaskCount()
    loop.set_task_factory(count)
    try:
        await work
    finally:
        loop.set_task_factory(None)
    return count.made


async def test_the_worker_client_sends_commands_and_pipelines_without_a_task_each(
    redis_url: str, redis_prefix: str
) -> None:
    client = redis_client(redis_url, decode_responses=True)
    assert isinstance(client, Redis)
    key = f"{redis_prefix}:send"
    try:
        await client.set(key, "warm")  # connects (redis-py's own path, once)

        async def commands() -> None:
            for n in range(20):
                await client.set(key, str(n))

        assert await _tasks_made_by(commands()) == 0
        async with client.pipeline(transaction=False) as pipe:
            # (A pipeline still makes one: redis-py shields its connection's release.)
            pipe.incr(key)
            pipe.get(key)
            assert await pipe.execute() == [20, "20"]
        connection = await client.connection_pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            assert isinstance(connection, sending_without_task(Connection))
            assert connection.socket_timeout == 5  # redis-py's default, kept
        finally:
            await client.connection_pool.release(connection)
    finally:
        await client.delete(key)
        await client.aclose()


async def test_redis_pys_own_connection_makes_a_task_per_command(redis_url: str) -> None:
    # What the class above saves (if redis-py stops doing this, the class can go).
    pool = ConnectionPool.from_url(redis_url)
    connection = pool.make_connection()  # type: ignore[no-untyped-call]
    assert type(connection) is Connection and connection.socket_timeout
    await connection.connect()  # type: ignore[no-untyped-call]
    try:

        async def commands() -> None:
            for _ in range(5):
                await connection.send_command("PING")
                assert await connection.read_response() == b"PONG"

        assert await _tasks_made_by(commands()) == 5
    finally:
        await connection.disconnect()
        await pool.aclose()


class _StopsReading:
    """Answers each command with +OK up to the first PING, then reads nothing more."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.done = asyncio.Event()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        name = b""
        while name != b"PING":
            line = await reader.readline()
            if not line.startswith(b"*"):
                return
            args = []
            for _ in range(int(line[1:])):
                size = int((await reader.readline())[1:])
                args.append((await reader.readexactly(size + 2))[:-2])
            name = args[0].upper()
            writer.write(b"+OK\r\n")
            await writer.drain()
        await self.done.wait()  # held open, unread, until the test ends
        writer.close()

    async def __aenter__(self) -> int:
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.done.set()
        self.server.close()
        await self.server.wait_closed()


@pytest.fixture
async def stops_reading() -> AsyncIterator[_StopsReading]:
    yield _StopsReading()


@pytest.mark.parametrize("kind", ["without a task", "redis-py's own"])
async def test_a_write_the_server_never_reads_times_out_and_drops_the_connection(
    kind: str, stops_reading: _StopsReading
) -> None:
    cls: type[Connection] = (
        sending_without_task(Connection) if kind == "without a task" else Connection
    )
    async with stops_reading as port:
        connection = cls(host="127.0.0.1", port=port, socket_timeout=0.3, protocol=2)
        await connection.connect()  # type: ignore[no-untyped-call]
        await connection.send_command("PING")
        assert await connection.read_response() == b"OK"
        started = asyncio.get_running_loop().time()
        with pytest.raises(RedisTimeoutError, match="Timeout writing to socket"):
            # 64 MiB: more than the loopback socket's buffers hold unread.
            await connection.send_command("SET", "k", b"x" * (64 << 20))
        assert asyncio.get_running_loop().time() - started >= 0.3
        assert not connection.is_connected
