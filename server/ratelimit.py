"""Counting failures in a fixed window, shared by all workers when Redis is configured."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from redis.asyncio import Redis


@dataclass(frozen=True, slots=True)
class WindowCount:
    count: int
    retry_after: int  # seconds until the window resets


class FailureCounter(Protocol):
    async def peek(self, key: str) -> WindowCount: ...
    async def hit(self, key: str, window_seconds: int) -> WindowCount: ...
    async def reset(self, key: str) -> None: ...


class MemoryFailureCounter:
    """In-process counter for the single-process default. Bounded: expired windows
    are dropped whenever the table passes ``max_keys``."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._windows: dict[str, tuple[int, float]] = {}
        self._max_keys = max_keys

    def _live(self, key: str, now: float) -> tuple[int, float] | None:
        entry = self._windows.get(key)
        if entry is None or entry[1] <= now:
            self._windows.pop(key, None)
            return None
        return entry

    async def peek(self, key: str) -> WindowCount:
        now = time.monotonic()
        entry = self._live(key, now)
        if entry is None:
            return WindowCount(0, 0)
        return WindowCount(entry[0], max(1, int(entry[1] - now + 0.999)))

    async def hit(self, key: str, window_seconds: int) -> WindowCount:
        now = time.monotonic()
        if len(self._windows) >= self._max_keys:
            for stale in [k for k, (_, end) in self._windows.items() if end <= now]:
                del self._windows[stale]
        entry = self._live(key, now)
        count, end = (entry[0] + 1, entry[1]) if entry else (1, now + window_seconds)
        self._windows[key] = (count, end)
        return WindowCount(count, max(1, int(end - now + 0.999)))

    async def reset(self, key: str) -> None:
        self._windows.pop(key, None)


class RedisFailureCounter:
    """INCR + EXPIRE NX in one pipelined round trip; the key dies with its window."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    def _key(self, key: str) -> str:
        return f"{self._prefix}:fail:{key}"

    async def peek(self, key: str) -> WindowCount:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(self._key(key))
            pipe.ttl(self._key(key))
            raw, ttl = await pipe.execute()
        return WindowCount(int(raw or 0), max(int(ttl), 0))

    async def hit(self, key: str, window_seconds: int) -> WindowCount:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(self._key(key))
            pipe.expire(self._key(key), window_seconds, nx=True)
            pipe.ttl(self._key(key))
            count, _, ttl = await pipe.execute()
        return WindowCount(int(count), max(int(ttl), 1))

    async def reset(self, key: str) -> None:
        await self._redis.delete(self._key(key))
