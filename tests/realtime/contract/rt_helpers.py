"""Helpers of the realtime contract suite (imported by its conftest and tests)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from realtime.backends import MemoryBackend, RealtimeBackend
from realtime.protocol import MessageEvent, MessageRole, ReplyDelta, SequencedEvent
from tests.support.polling import until

#: Every wait in the suite is bounded; generous so a loaded CI box does not flake.
WAIT = 5.0


def delta(i: int) -> ReplyDelta:
    return ReplyDelta(reply_id="r", text=str(i))


def message(i: int) -> MessageEvent:
    return MessageEvent(message_id=f"m{i}", role=MessageRole.STUDENT, text=f"say {i}")


def text_of(event: SequencedEvent) -> str:
    """The text of a delta or message (the suite's events are those two)."""
    assert isinstance(event, ReplyDelta | MessageEvent), event
    return event.text


async def eventually(check: Callable[[], Awaitable[bool]], step: float = 0.01) -> None:
    """Wait (at most WAIT seconds) until ``check()`` is true. Only for TTL expiry, which
    nothing announces; everything else in the suite waits on real events."""

    async def poll() -> None:
        while not await check():  # noqa: ASYNC110 - expiry has no event to wait on
            await asyncio.sleep(step)

    await asyncio.wait_for(poll(), WAIT)


async def until_live(check: Callable[[], bool]) -> None:
    """Wait (at most WAIT seconds, a look every millisecond) until ``check()``: the live
    path runs in the appender's (or the stream reader's) call, and nothing announces the
    iterator's wait."""
    await until(check, WAIT, 0.001)


async def take(events: AsyncIterator[SequencedEvent], n: int) -> list[SequencedEvent]:
    """The next ``n`` events, or TimeoutError after WAIT seconds."""

    async def collect() -> list[SequencedEvent]:
        return [await anext(events) for _ in range(n)]

    return await asyncio.wait_for(collect(), WAIT)


class Workers:
    """Builds backend instances standing for separate workers of one deployment.

    Redis: every call is a new instance (own pool, own stream reader) on the same keys.
    Memory: one process has one backend, so every call returns the same instance.
    """

    def __init__(self, kind: str, redis_url: str | None, prefix: str | None) -> None:
        self.kind = kind
        self._redis_url = redis_url
        self._prefix = prefix
        self._made: list[RealtimeBackend] = []
        self._memory: dict[int, MemoryBackend] = {}

    def make(self, window: int = 1_000) -> RealtimeBackend:
        if self.kind == "memory":
            if window not in self._memory:
                self._memory[window] = MemoryBackend(window=window)
                self._made.append(self._memory[window])
            return self._memory[window]
        from realtime.backends.redis import RedisBackend

        assert self._redis_url and self._prefix
        backend = RedisBackend(self._redis_url, key_prefix=self._prefix, window=window)
        self._made.append(backend)
        return backend

    async def aclose(self) -> None:
        for backend in self._made:
            await backend.aclose()
