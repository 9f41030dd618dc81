"""A worker's script calls (the log's appends, the reply lock's renewals and releases, a
say's opening, presence) on a connection of its own to a standalone Redis (or a
Sentinel-managed primary), pipelined: :class:`ScriptPipe` writes each call as it is made,
those of one loop turn together, and nothing waits for an answer before the next write
(:mod:`realtime.backends.redis_wire`).

Why: at 100 sessions streaming a worker runs ~2,000 appends a second, and a reply ~14
calls more (its lease, its lock, its opening). Through redis-py's pooled client one call
cost 101 us of the worker's CPU one at a time, 51 us when 25 went at once (pool
checkout, retry wrapper, a task for the write timeout, the parse); on a redis-py
connection of its own, a pipeline in flight at a time, 59-65 and 14 us; on this pipe, 30
and 5 us (5,000 calls of a small script, uvloop, ``time.process_time``, 2026-12-05).

Order: one connection, and Redis runs its commands in the order written, so a session's
calls made one after another by one task land in that order. Errors: a script's own
error (``NOLOG``) fails only its caller; a lost connection fails every call written and
not answered, and such a call may have run: it is never sent again (a lost answer is not
a refusal). ``NOSCRIPT`` (Redis restarted, or ``SCRIPT FLUSH``): the call did not run, and
goes again as ``EVAL`` with the script's text, which loads it. Only scripts that answer
at once go this way: a blocking command would hold every answer behind it.

Redis Cluster: one ``EVALSHA`` each through the cluster client (see
:class:`DirectScripts`): a cluster pipeline splits per node and retries per command, and
a worker's calls spread over every node anyway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from realtime.backends.base import BackendUnavailable
from realtime.backends.redis_wire import Dial, Wire, afresh

__all__ = ["AT_ONCE", "Call", "DirectScripts", "ScriptPipe", "Scripts", "run_script", "scripts_for"]

Args = Sequence[str | int | float]
#: One script call's keys and arguments.
Call = tuple[list[str], Args]

#: Calls :meth:`ScriptPipe.run_many` writes at once: bounds what one write's answers hold
#: and how long Redis's one thread runs them in a row (200 of the watchdog's budget
#: snapshots take ~2 ms of Redis time, ~9 us each, INFO commandstats; a scan's 2,000
#: sessions are ten writes).
AT_ONCE = 200


class Scripts(Protocol):
    """Runs ``script`` with ``keys`` and ``args`` and returns what it returned. Raises
    redis-py's errors (the backend translates them) or BackendUnavailable."""

    async def run(self, script: AsyncScript, keys: list[str], args: Args) -> Any: ...

    async def run_many(self, script: AsyncScript, calls: Sequence[Call]) -> list[Any]:
        """``run`` for each of ``calls`` (a session each), the answers in order; raises
        the first error once every call is answered."""
        ...

    async def aclose(self) -> None: ...


class DirectScripts:
    """One ``EVALSHA`` per call through the command client (Redis Cluster; many calls one
    after another: see :func:`realtime.backends.redis_pool.pipelines_many_sessions`)."""

    async def run(self, script: AsyncScript, keys: list[str], args: Args) -> Any:
        return await script(keys=keys, args=args)

    async def run_many(self, script: AsyncScript, calls: Sequence[Call]) -> list[Any]:
        return [await script(keys=keys, args=args) for keys, args in calls]

    async def aclose(self) -> None:
        return None


async def run_script(wire: Wire, script: AsyncScript, keys: list[str], args: Args) -> Any:
    """``script`` on ``wire``; refused with ``NOSCRIPT`` (Redis restarted, or SCRIPT
    FLUSH), the call did not run, and ``EVAL`` runs it and loads the script for the calls
    after it. Raises redis-py's errors."""
    try:
        return await wire.call("EVALSHA", script.sha, len(keys), *keys, *args)
    except NoScriptError:
        return await wire.call("EVAL", script.script, len(keys), *keys, *args)


#: How long :meth:`ScriptPipe.aclose` lets the answers of calls in flight arrive: a
#: reply's end logged as the worker stops still reaches Redis's answer, not a lost one.
CLOSE_GRACE_SECONDS = 2.0


class ScriptPipe:
    """Script calls on the worker's own connection to Redis, dialled as ``redis``'s pooled
    ones are (URL, credentials, TLS, database, timeouts), made when the first call comes
    and again after a loss.

    Cancelling :meth:`run` is safe: a call not yet written is dropped, one written may
    have run (as with any Redis command cut off mid-flight) and its answer is dropped.
    :meth:`aclose` refuses new calls, lets those in flight be answered (at most
    :data:`CLOSE_GRACE_SECONDS`) and closes the connection."""

    def __init__(self, redis: Redis, *, close_grace: float = CLOSE_GRACE_SECONDS) -> None:
        self._dial = Dial.of(redis)
        self._close_grace = close_grace
        self._wire: Wire | None = None
        self._dialling = asyncio.Lock()
        self._closed = False
        self._dial_failure: Exception | None = None
        self._failed_dials = 0
        #: Dials begun and connections made (tests read them).
        self.attempts = 0
        self.dialled = 0

    @property
    def wire(self) -> Wire | None:
        """The connection now, if one is open (tests read its counts)."""
        return self._wire

    async def run(self, script: AsyncScript, keys: list[str], args: Args) -> Any:
        wire = self._wire
        if wire is None or wire.lost:
            wire = await self._open()
        return await run_script(wire, script, keys, args)

    async def run_many(self, script: AsyncScript, calls: Sequence[Call]) -> list[Any]:
        """:data:`AT_ONCE` calls written at once (one write, the answers in a read or a
        few), with none of a redis-py pipeline's cost a command: the flusher's and the
        watchdog's looks at every session through those were 4% of a Redis worker's
        samples at S=100. Calls refused with ``NOSCRIPT`` go again."""
        answers: list[Any] = []
        for start in range(0, len(calls), AT_ONCE):
            answers += await self._run_at_once(script, calls[start : start + AT_ONCE])
        return answers

    async def _run_at_once(self, script: AsyncScript, calls: Sequence[Call]) -> list[Any]:
        if not calls:
            return []
        wire = self._wire
        if wire is None or wire.lost:
            wire = await self._open()
        sha = script.sha
        answers: list[Any] = await asyncio.gather(
            *(wire.call("EVALSHA", sha, len(keys), *keys, *args) for keys, args in calls),
            return_exceptions=True,
        )
        refused = [n for n, answer in enumerate(answers) if isinstance(answer, NoScriptError)]
        if refused:
            # None of those ran. The first goes again as EVAL, which loads the script for
            # the others, sent again together.
            keys, args = calls[refused[0]]
            answers[refused[0]] = await wire.call("EVAL", script.script, len(keys), *keys, *args)
            again = await self._run_at_once(script, [calls[n] for n in refused[1:]])
            for n, answer in zip(refused[1:], again, strict=True):
                answers[n] = answer
        for answer in answers:
            if isinstance(answer, BaseException):
                raise answer
        return answers

    async def _open(self) -> Wire:
        """The open connection, made by one caller while the others wait for it. Raises
        BackendUnavailable once closed, else redis-py's connection errors; callers that
        waited while a dial failed get its failure, not a dial each (with Redis out of
        reach, 100 waiting calls would otherwise wait 100 connect timeouts in turn)."""
        failed_before = self._failed_dials
        async with self._dialling:
            if self._closed:
                raise BackendUnavailable("backend closed")
            wire = self._wire
            if wire is not None and not wire.lost:
                return wire
            if self._failed_dials != failed_before and self._dial_failure is not None:
                raise afresh(self._dial_failure)  # a dial failed while this call waited
            self.attempts += 1
            try:
                wire = await Wire.open(self._dial)
            except Exception as error:
                self._dial_failure = error
                self._failed_dials += 1
                raise
            if self._closed:  # aclose ran while this dialled: nobody else would close it
                wire.close()
                raise BackendUnavailable("backend closed")
            self._wire, self._dial_failure = wire, None
            self.dialled += 1
            return wire

    async def aclose(self) -> None:
        self._closed = True
        wire, self._wire = self._wire, None
        if wire is None:
            return
        try:
            async with asyncio.timeout(self._close_grace):
                await wire.drained()
        except TimeoutError:
            pass
        finally:
            wire.close()


def scripts_for(redis: Redis | RedisCluster) -> Scripts:
    """How a worker runs its scripts on ``redis``: a pipe of their own on a single Redis;
    on a Cluster, ``EVALSHA`` through the client (a pipe speaks to one node)."""
    return DirectScripts() if isinstance(redis, RedisCluster) else ScriptPipe(redis)
