"""A worker's log appends, pipelined on the worker's own append connection: every
append that waits while one batch is in flight goes out with the next batch, in one write.

Why: at 25 sessions streaming, the worker ran ~500 appends a second, each its own
``EVALSHA`` round trip. On the client one costs ~115-145 us of CPU through redis-py's
client (pool checkout, retry wrapper, a task for the write timeout, a ``send`` syscall,
the reply's parse); sent on a connection of its own, 56 us; in a pipeline of 25, ~26 us.
A batch only forms while another is in flight, so an idle worker sends each append at
once (no timer, no added latency) and a busy one sends bigger batches.

Order: one batch at a time, and Redis runs a pipeline's commands in order, so a
session's appends made one after another by one task land in that order. Errors: a
script's own error (``NOLOG``) fails only its caller; a lost connection fails the whole
batch, and an append that failed that way may have run: it is never sent again (a lost
answer is not a refusal). ``NOSCRIPT`` (Redis restarted, or ``SCRIPT FLUSH``) loads the
script and sends again only the appends it refused, which did not run.

Redis Cluster: appends go one ``EVALSHA`` each (see :class:`DirectAppends`): a cluster
pipeline splits per node and retries per command, and a worker's appends spread over
every node anyway.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError

from realtime.backends.base import BackendUnavailable
from realtime.backends.cancelling import cancel_and_wait, raise_if_cancelling

__all__ = ["MAX_BATCH", "AppendBatcher", "Appends", "DirectAppends"]

#: Appends per pipeline: a reconnect storm's presence events or 100 sessions' deltas fit
#: in one or two writes, and no batch holds the connection long (~3 ms for 128 on Redis).
MAX_BATCH = 128

#: An append connection idle this long is checked before use (Redis may have closed it: a
#: restart, its ``timeout`` setting); a busy one proves itself with every answer.
IDLE_CHECK_SECONDS = 1.0

Args = list[str | int]


class Appends(Protocol):
    """Runs the append script (``keys``, ``args``) and returns what it returned. Raises
    redis-py's errors (the backend translates them) or BackendUnavailable."""

    async def run(self, keys: list[str], args: Args) -> Any: ...

    async def aclose(self) -> None: ...


class DirectAppends:
    """One ``EVALSHA`` per append (Redis Cluster)."""

    def __init__(self, script: AsyncScript) -> None:
        self._script = script

    async def run(self, keys: list[str], args: Args) -> Any:
        return await self._script(keys=keys, args=args)

    async def aclose(self) -> None:
        return None


@dataclass(slots=True)
class _Append:
    keys: list[str]
    args: Args
    done: asyncio.Future[Any] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class AppendBatcher:
    """Pipelines appends to one standalone Redis (or Sentinel-managed primary).

    The batcher owns one connection to Redis, made like ``redis``'s pooled ones (URL,
    credentials, TLS, timeouts) but outside the pool: an append skips the checkout and
    redis-py's command wrappers, and at most one append command or pipeline is in flight
    on it. An append that finds none goes out at once as a plain ``EVALSHA`` from its
    caller's task; one that finds one in flight waits, and when the connection is free
    everything waiting goes out together from the batcher's sending task.

    Cancelling :meth:`run` is safe: an append not yet sent is dropped, one already sent
    may have run (as with any Redis command cut off mid-flight; the connection is closed,
    so no stale answer is read later). The batcher owns its sending task, started when
    appends wait and ended when none does; :meth:`aclose` cancels it, fails what still
    waits, and closes the connection once nothing is in flight on it."""

    def __init__(
        self, redis: Redis, script: AsyncScript, *, idle_check: float = IDLE_CHECK_SECONDS
    ) -> None:
        self._redis = redis
        self._idle_check = idle_check
        self._script = script
        pool = redis.connection_pool
        self._connection: AbstractConnection = pool.connection_class(**pool.connection_kwargs)
        self._used_at = 0.0
        self._waiting: list[_Append] = []
        self._in_flight = False
        self._sender: asyncio.Task[None] | None = None
        self._closed = False
        #: Pipelines sent and appends in them (tests and the benchmark read these).
        self.batches = 0
        self.batched = 0

    async def run(self, keys: list[str], args: Args) -> Any:
        if self._closed:
            raise BackendUnavailable("backend closed")
        if self._in_flight:
            append = _Append(keys, args)
            self._waiting.append(append)
            return await append.done
        self._in_flight = True
        try:
            return await self._evalsha(keys, args)
        finally:
            await self._connection_free()

    async def _connection_free(self) -> None:
        if self._waiting and not self._closed:
            self._sender = asyncio.create_task(self._send_waiting(), name="realtime-redis-appends")
            return
        self._in_flight = False
        if self._closed:  # aclose left the connection to whoever was using it
            await self._connection.disconnect()

    async def _send_waiting(self) -> None:
        try:
            while self._waiting:
                batch = [a for a in self._waiting[:MAX_BATCH] if not a.done.done()]
                del self._waiting[:MAX_BATCH]
                if not batch:
                    continue  # every one of them was cancelled before it was sent
                try:
                    await self._send(batch)
                    raise_if_cancelling()  # redis-py's write may have swallowed our cancel
                except BaseException as error:
                    for append in batch:
                        if not append.done.done():
                            append.done.set_exception(_as_failure(error))
                    if not isinstance(error, Exception):
                        raise  # cancelled (aclose): what still waits is failed there
        finally:
            self._in_flight = False
            if self._closed:
                await self._connection.disconnect()

    async def _send(self, batch: list[_Append]) -> None:
        if len(batch) == 1:  # a plain EVALSHA: less work than a pipeline of one
            append = batch[0]
            result = await self._evalsha(append.keys, append.args)
            if not append.done.done():
                append.done.set_result(result)
            return
        for attempt in range(2):
            results = await self._pipeline(batch)
            refused: list[_Append] = []
            for append, result in zip(batch, results, strict=True):
                if isinstance(result, NoScriptError) and attempt == 0:
                    refused.append(append)
                elif append.done.done():
                    continue  # its caller was cancelled meanwhile
                elif isinstance(result, Exception):
                    append.done.set_exception(result)
                else:
                    append.done.set_result(result)
            if not refused:
                return
            # Redis lost its scripts (a restart, SCRIPT FLUSH): these did not run.
            await self._redis.script_load(self._script.script)
            batch = refused

    async def _evalsha(self, keys: list[str], args: Args) -> Any:
        """One append; on ``NOSCRIPT`` (it did not run) the script is loaded and it is
        sent once more."""
        for attempt in range(2):
            (result,) = await self._call([[*keys, *args]], keys_each=[len(keys)])
            if not isinstance(result, NoScriptError) or attempt == 1:
                break
            await self._redis.script_load(self._script.script)
        if isinstance(result, ResponseError):
            raise result
        return result

    async def _pipeline(self, batch: list[_Append]) -> list[Any]:
        results = await self._call(
            [[*a.keys, *a.args] for a in batch], keys_each=[len(a.keys) for a in batch]
        )
        self.batches += 1
        self.batched += len(batch)
        return results

    async def _call(self, commands: list[Args], *, keys_each: list[int]) -> list[Any]:
        """Sends one ``EVALSHA`` per command in one write and reads the answers in order:
        each the script's result, or the ``ResponseError`` Redis answered it with.
        Raises redis-py's connection errors (the connection is then closed)."""
        connection = await self._ready()
        sha = self._script.sha
        # The connection packs with hiredis in one call (redis_packing: 32.7 -> 2.1 us an
        # append of a delta through redis-py's own packer).
        packed = connection.pack_commands(
            ("EVALSHA", sha, n, *command) for command, n in zip(commands, keys_each, strict=True)
        )
        await connection.send_packed_command(packed, check_health=False)
        results: list[Any] = []
        for _ in commands:
            try:
                results.append(await connection.read_response())
            except ResponseError as error:  # read whole: the connection stays in step
                results.append(error)
        self._used_at = time.monotonic()
        return results

    async def _ready(self) -> AbstractConnection:
        connection = self._connection
        if not connection.is_connected:
            await connection.connect()  # type: ignore[no-untyped-call]
        elif time.monotonic() - self._used_at >= self._idle_check:
            # Data waiting on an idle connection, or its end: start afresh.
            try:
                stale = await connection.can_read()
            except (RedisConnectionError, OSError):
                stale = True
            if stale:
                await connection.disconnect()
                await connection.connect()  # type: ignore[no-untyped-call]
        return connection

    async def aclose(self) -> None:
        self._closed = True
        if self._sender is not None:
            await cancel_and_wait(self._sender)
            self._sender = None
        waiting, self._waiting = self._waiting, []
        for append in waiting:
            if not append.done.done():
                append.done.set_exception(BackendUnavailable("backend closed"))
        if not self._in_flight:  # else the append in flight closes it as it ends
            await self._connection.disconnect()


def _as_failure(error: BaseException) -> BaseException:
    """What a caller of a failed batch gets: redis-py's error as it is (the backend
    translates it), a cancelled sender as the backend closing."""
    if isinstance(error, asyncio.CancelledError):
        return BackendUnavailable("backend closed")
    return error
