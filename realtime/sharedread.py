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
class _Key(Generic[V]):
    #: The read in flight (None: none).
    running: asyncio.Task[None] | None = None
    #: Answers the callers that arrived while ``running`` ran, with the read after it.
    waiting: asyncio.Future[V] | None = None
    load: Callable[[], Awaitable[V]] | None = field(default=None, repr=False)
    #: The context of the caller that opened ``waiting``.
    context: contextvars.Context | None = field(default=None, repr=False)


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
        caller cancelled while it waits leaves the read to the others."""
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _Key()
        if state.waiting is None:
            state.waiting = asyncio.get_running_loop().create_future()
            # Nobody may be left to look at a failure: it is never "unretrieved".
            state.waiting.add_done_callback(_retrieve)
            # The read runs as the caller that opened it (its request's logs, its load).
            state.load, state.context = load, contextvars.copy_context()
        answer = state.waiting
        if state.running is None:
            self._begin(key, state)
        return await asyncio.shield(answer)

    def _begin(self, key: K, state: _Key[V]) -> None:
        loop = asyncio.get_running_loop()
        state.running = loop.create_task(self._run(key, state), context=state.context)

    async def _run(self, key: K, state: _Key[V]) -> None:
        # The read begins now: who arrived until now shares it, who comes later the next.
        answer, load = state.waiting, state.load
        assert answer is not None and load is not None
        state.waiting, state.load, state.context = None, None, None
        try:
            value = await load()
        except asyncio.CancelledError:  # shutting down: whoever waits is cancelled too
            for waiting in (answer, state.waiting):
                if waiting is not None:
                    waiting.cancel()
            state.waiting, state.load, state.context = None, None, None
            raise
        except Exception as problem:
            answer.set_exception(problem)
        else:
            answer.set_result(value)
        finally:
            if state.waiting is not None:
                self._begin(key, state)
            else:
                state.running = None
                if self._keys.get(key) is state:
                    del self._keys[key]


def _retrieve(answer: asyncio.Future[Any]) -> None:
    if not answer.cancelled():
        answer.exception()
