"""A worker's script calls (the log's appends, the reply lock's renewals and releases, a
say's opening, presence), pipelined on the worker's own connection: every call that waits
while one batch is in flight goes out with the next batch, in one write.

Why: at 25 sessions streaming, the worker ran ~500 appends a second, each its own
``EVALSHA`` round trip. On the client one costs ~115-145 us of CPU through redis-py's
client (pool checkout, retry wrapper, a task for the write timeout, a ``send`` syscall,
the reply's parse); sent on a connection of its own, 56 us; in a pipeline of 25, ~26 us.
Besides its ~50 appends a reply made ~16 more calls through redis-py's pool (MONITOR at
S=20: 5.5 lease renewals, 3.3 releases, the say's opening, log look-ups, presence): 101 us
of CPU each there one at a time against 80 here, 51 against 26 us when 25 go at once
(2026-12-05), so the per-reply scripts go this way too.
A batch only forms while another is in flight, so an idle worker sends each call at
once (no timer, no added latency) and a busy one sends bigger batches.

Order: one batch at a time, and Redis runs a pipeline's commands in order, so a
session's calls made one after another by one task land in that order. Errors: a
script's own error (``NOLOG``) fails only its caller; a lost connection fails the whole
batch, and a call that failed that way may have run: it is never sent again (a lost
answer is not a refusal). ``NOSCRIPT`` (Redis restarted, or ``SCRIPT FLUSH``) loads the
scripts refused and sends again only the calls refused, which did not run. Only scripts
that answer at once go this way: a blocking command would hold every call behind it.

Redis Cluster: one ``EVALSHA`` each through the cluster client (see
:class:`DirectScripts`): a cluster pipeline splits per node and retries per command, and
a worker's calls spread over every node anyway.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError

from realtime.backends.base import BackendUnavailable
from realtime.backends.cancelling import cancel_and_wait, raise_if_cancelling

__all__ = ["MAX_BATCH", "DirectScripts", "ScriptBatcher", "Scripts"]

#: Calls per pipeline: a reconnect storm's presence events or 100 sessions' deltas fit
#: in one or two writes, and no batch holds the connection long (~3 ms for 128 on Redis).
MAX_BATCH = 128

#: The connection idle this long is checked before use (Redis may have closed it: a
#: restart, its ``timeout`` setting); a busy one proves itself with every answer.
IDLE_CHECK_SECONDS = 1.0

Args = list[str | int]


class Scripts(Protocol):
    """Runs ``script`` with ``keys`` and ``args`` and returns what it returned. Raises
    redis-py's errors (the backend translates them) or BackendUnavailable."""

    async def run(self, script: AsyncScript, keys: list[str], args: Args) -> Any: ...

    async def aclose(self) -> None: ...


class DirectScripts:
    """One ``EVALSHA`` per call through the command client (Redis Cluster)."""

    async def run(self, script: AsyncScript, keys: list[str], args: Args) -> Any:
        return await script(keys=keys, args=args)

    async def aclose(self) -> None:
        return None


@dataclass(slots=True)
class _Call:
    script: AsyncScript
    keys: list[str]
    args: Args
    done: asyncio.Future[Any] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class ScriptBatcher:
    """Pipelines script calls to one standalone Redis (or Sentinel-managed primary).

    The batcher owns one connection to Redis, made like ``redis``'s pooled ones (URL,
    credentials, TLS, timeouts) but outside the pool: a call skips the checkout and
    redis-py's command wrappers, and at most one command or pipeline is in flight on it.
    A call that finds none goes out at once as a plain ``EVALSHA`` from its caller's task;
    one that finds one in flight waits, and when the connection is free everything
    waiting goes out together from the batcher's sending task.

    Cancelling :meth:`run` is safe: a call not yet sent is dropped, one already sent may
    have run (as with any Redis command cut off mid-flight; the connection is closed, so
    no stale answer is read later). The batcher owns its sending task, started when calls
    wait and ended when none does; :meth:`aclose` cancels it, fails what still waits, and
    closes the connection once nothing is in flight on it."""

    def __init__(self, redis: Redis, *, idle_check: float = IDLE_CHECK_SECONDS) -> None:
        self._redis = redis
        self._idle_check = idle_check
        pool = redis.connection_pool
        self._connection: AbstractConnection = pool.connection_class(**pool.connection_kwargs)
        self._used_at = 0.0
        self._waiting: list[_Call] = []
        self._in_flight = False
        self._sender: asyncio.Task[None] | None = None
        self._closed = False
        #: Pipelines sent and calls in them (tests read these).
        self.batches = 0
        self.batched = 0

    async def run(self, script: AsyncScript, keys: list[str], args: Args) -> Any:
        if self._closed:
            raise BackendUnavailable("backend closed")
        if self._in_flight:
            call = _Call(script, keys, args)
            self._waiting.append(call)
            return await call.done
        self._in_flight = True
        try:
            return await self._evalsha(script, keys, args)
        finally:
            await self._connection_free()

    async def _connection_free(self) -> None:
        if self._waiting and not self._closed:
            self._sender = asyncio.create_task(self._send_waiting(), name="realtime-redis-scripts")
            return
        self._in_flight = False
        if self._closed:  # aclose left the connection to whoever was using it
            await self._connection.disconnect()

    async def _send_waiting(self) -> None:
        try:
            while self._waiting:
                batch = [c for c in self._waiting[:MAX_BATCH] if not c.done.done()]
                del self._waiting[:MAX_BATCH]
                if not batch:
                    continue  # every one of them was cancelled before it was sent
                try:
                    await self._send(batch)
                    raise_if_cancelling()  # redis-py's write may have swallowed our cancel
                except BaseException as error:
                    for call in batch:
                        if not call.done.done():
                            call.done.set_exception(_as_failure(error))
                    if not isinstance(error, Exception):
                        raise  # cancelled (aclose): what still waits is failed there
        finally:
            self._in_flight = False
            if self._closed:
                await self._connection.disconnect()

    async def _send(self, batch: list[_Call]) -> None:
        if len(batch) == 1:  # a plain EVALSHA: less work than a pipeline of one
            call = batch[0]
            result = await self._evalsha(call.script, call.keys, call.args)
            if not call.done.done():
                call.done.set_result(result)
            return
        for attempt in range(2):
            results = await self._pipeline(batch)
            refused: list[_Call] = []
            for call, result in zip(batch, results, strict=True):
                if isinstance(result, NoScriptError) and attempt == 0:
                    refused.append(call)
                elif call.done.done():
                    continue  # its caller was cancelled meanwhile
                elif isinstance(result, Exception):
                    call.done.set_exception(result)
                else:
                    call.done.set_result(result)
            if not refused:
                return
            # Redis lost its scripts (a restart, SCRIPT FLUSH): these did not run.
            await self._load({id(call.script): call.script for call in refused}.values())
            batch = refused

    async def _load(self, scripts: Iterable[AsyncScript]) -> None:
        for script in scripts:
            await self._redis.script_load(script.script)

    async def _evalsha(self, script: AsyncScript, keys: list[str], args: Args) -> Any:
        """One call; on ``NOSCRIPT`` (it did not run) the script is loaded and it is sent
        once more."""
        for attempt in range(2):
            (result,) = await self._call([(script.sha, keys, args)])
            if not isinstance(result, NoScriptError) or attempt == 1:
                break
            await self._load([script])
        if isinstance(result, ResponseError):
            raise result
        return result

    async def _pipeline(self, batch: list[_Call]) -> list[Any]:
        results = await self._call([(c.script.sha, c.keys, c.args) for c in batch])
        self.batches += 1
        self.batched += len(batch)
        return results

    async def _call(self, calls: list[tuple[str, list[str], Args]]) -> list[Any]:
        """Sends one ``EVALSHA`` per call in one write and reads the answers in order:
        each the script's result, or the ``ResponseError`` Redis answered it with.
        Raises redis-py's connection errors (the connection is then closed)."""
        connection = await self._ready()
        # The connection packs with hiredis in one call (redis_packing: 32.7 -> 2.1 us an
        # append of a delta through redis-py's own packer).
        packed = connection.pack_commands(
            ("EVALSHA", sha, len(keys), *keys, *args) for sha, keys, args in calls
        )
        await connection.send_packed_command(packed, check_health=False)
        results: list[Any] = []
        for _ in calls:
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
        elif _closed_by_redis(connection):
            # Redis closed it (a restart) since the last call: the loop has seen its end.
            # Every call comes this way (presence, lease renewals), not only appends, so
            # one on a connection idle under IDLE_CHECK_SECONDS must not fail for it.
            await connection.disconnect()
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
        for call in waiting:
            if not call.done.done():
                call.done.set_exception(BackendUnavailable("backend closed"))
        if not self._in_flight:  # else the call in flight closes it as it ends
            await self._connection.disconnect()


def _closed_by_redis(connection: AbstractConnection) -> bool:
    """Whether the connection's stream has seen its end (no system call: the loop read
    it). redis-py keeps the stream as ``_reader``; without one, nothing is known."""
    reader = getattr(connection, "_reader", None)
    return isinstance(reader, asyncio.StreamReader) and reader.at_eof()


def _as_failure(error: BaseException) -> BaseException:
    """What a caller of a failed batch gets: redis-py's error as it is (the backend
    translates it), a cancelled sender as the backend closing."""
    if isinstance(error, asyncio.CancelledError):
        return BackendUnavailable("backend closed")
    return error
