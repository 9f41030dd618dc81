"""Reads of one key that arrive together share one read, never one begun before them.

A socket's handshake checks its credential against SQL as it is now (a revoked join link
or a teacher's old cookie is refused), so no memo can answer it. But a storm of
handshakes on one session (1,000 observers joining, or every socket of a dead worker
coming back) asked the same row once per socket, with the driver's 16 handshakes in
flight at once: 16 pooled connections, which on SQLite are a thread, an allocator arena
and a page cache each (5.1 MB of a worker's memory once grown; docs/performance.md).

Here at most one read per key is in flight. Callers that arrive before it begins share
it; those that arrive while it runs wait for the next one, which begins when it ends and
answers all of them. So each caller's answer is read after it arrived, as its own read
would have been, and a storm costs one read per read-time instead of one per caller.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

__all__ = ["SharedReads"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(slots=True)
class _Batch(Generic[V]):
    """The callers one read answers."""

    answer: asyncio.Future[V]
    load: Callable[[], Awaitable[V]] = field(repr=False)
    #: The context of the caller that opened it: its read runs (and logs) as that caller.
    context: contextvars.Context = field(repr=False)
    #: Callers still waiting: when the last is cancelled, so is its read (a read nobody
    #: waits for must not outlive them, e.g. start SQL after the database has closed).
    waiters: int = 0


@dataclass(slots=True)
class _Key(Generic[V]):
    #: The read in flight (None: none) and the batch it answers.
    running: asyncio.Task[None] | None = None
    reading: _Batch[V] | None = None
    #: The callers that arrived while ``running`` ran, for the read after it.
    waiting: _Batch[V] | None = None


class SharedReads(Generic[K, V]):
    def __init__(self) -> None:
        self._keys: dict[K, _Key[V]] = {}

    @property
    def in_flight(self) -> int:
        """Keys with a read running (for tests and introspection)."""
        return sum(1 for key in self._keys.values() if key.running is not None)

    async def read(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """``load()``'s answer for ``key``, from a read begun after this call (shared with
        whoever else asks for ``key`` before it begins). Raises what ``load`` raises. A
        caller cancelled while it waits leaves the read to the others; the last one
        cancelled cancels it."""
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _Key()
        batch = state.waiting
        if batch is None:
            answer: asyncio.Future[V] = asyncio.get_running_loop().create_future()
            # Nobody may be left to look at a failure: it is never "unretrieved".
            answer.add_done_callback(_retrieve)
            batch = state.waiting = _Batch(answer, load, contextvars.copy_context())
        batch.waiters += 1
        if state.running is None:
            self._begin(key, state)
        try:
            return await asyncio.shield(batch.answer)
        except asyncio.CancelledError:
            if batch.waiters == 1 and not batch.answer.done():
                if state.waiting is batch:
                    state.waiting = None
                elif state.reading is batch and state.running is not None:
                    state.running.cancel()
            raise
        finally:
            batch.waiters -= 1

    def _begin(self, key: K, state: _Key[V]) -> None:
        batch = state.waiting
        assert batch is not None
        loop = asyncio.get_running_loop()
        state.running = loop.create_task(self._run(key, state), context=batch.context)

    async def _run(self, key: K, state: _Key[V]) -> None:
        # The read begins now: who asked until now shares it, who comes later the next.
        batch, state.waiting = state.waiting, None
        if batch is None:  # its callers were all cancelled before it began
            state.running = None
            if self._keys.get(key) is state:
                del self._keys[key]
            return
        state.reading = batch
        try:
            value = await batch.load()
        except asyncio.CancelledError:
            batch.answer.cancel()
            raise
        except Exception as problem:
            batch.answer.set_exception(problem)
        else:
            batch.answer.set_result(value)
        finally:
            state.running = state.reading = None
            if state.waiting is not None:
                self._begin(key, state)
            elif self._keys.get(key) is state:
                del self._keys[key]


def _retrieve(answer: asyncio.Future[Any]) -> None:
    if not answer.cancelled():
        answer.exception()
