"""Small per-worker memos for the say path: a value loaded at most once per ``ttl``
seconds per key (and, for a caller that refreshes it off its hot path, usable for
``stale_for`` seconds more), and an action done at most once per ``every`` seconds per key.

Both are bounded (least recently used keys go first) and take a monotonic clock, so
tests drive time instead of sleeping. Neither is shared between workers: each worker's
copy is at most ``ttl`` seconds behind SQL, which is what the callers document.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from realtime.sharedread import SharedReads

__all__ = ["Throttle", "TtlMemo"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

#: Keys remembered: a worker carries ~100 live sessions and their teachers.
MAX_KEYS = 1_000


class TtlMemo(Generic[K, V]):
    def __init__(
        self,
        ttl: float,
        *,
        stale_for: float = 0.0,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._stale_for = stale_for
        self._max = max_keys
        self._clock = clock
        self._values: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._refreshing: set[K] = set()
        self._loads: SharedReads[K, V] = SharedReads()

    async def get(
        self,
        key: K,
        load: Callable[[], Awaitable[V]],
        keep: Callable[[V], bool] = lambda _: True,
    ) -> V:
        """The value for ``key``, loaded again once it is ``ttl`` seconds old (a ``ttl``
        of 0 loads every time; callers that miss together share a load begun after they
        all called). A failed load, or a value ``keep`` refuses, is not remembered (the
        next call loads again)."""
        now = self._clock()
        held = self._values.get(key)
        if held is not None and now - held[0] < self._ttl:
            self._values.move_to_end(key)
            return held[1]
        # Callers that miss together share one load (begun after each of them arrived):
        # of 500 sockets welcomed 16 at a time, those that missed the profile together
        # each loaded it, 13-16 at once, growing the pool by as many connections.
        value = await self._loads.read(key, load)
        if not keep(value):
            self._values.pop(key, None)
        elif self._ttl > 0:
            self._values[key] = (now, value)
            self._values.move_to_end(key)
            while len(self._values) > self._max:
                self._values.popitem(last=False)
        return value

    def usable(self, key: K) -> V | None:
        """The value for ``key`` if it was loaded less than ``ttl + stale_for`` seconds
        ago, else None (load it with :meth:`get`). Past ``ttl`` the caller uses it now and
        calls :meth:`refresh` once its hot path is done."""
        held = self._values.get(key)
        if held is None or self._clock() - held[0] >= self._ttl + self._stale_for:
            return None
        self._values.move_to_end(key)
        return held[1]

    async def refresh(
        self,
        key: K,
        load: Callable[[], Awaitable[V]],
        keep: Callable[[V], bool] = lambda _: True,
    ) -> None:
        """Load ``key`` again if it holds a value older than ``ttl`` and no refresh of it
        is already running (a burst of callers past ``ttl`` costs one load, not one each).
        A key holding nothing is left to the next :meth:`get`."""
        held = self._values.get(key)
        if held is None or self._clock() - held[0] < self._ttl or key in self._refreshing:
            return
        self._refreshing.add(key)
        try:
            await self.get(key, load, keep)
        finally:
            self._refreshing.discard(key)

    def forget(self, key: K) -> None:
        self._values.pop(key, None)


class Throttle(Generic[K]):
    def __init__(
        self,
        every: float,
        *,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._every = every
        self._max = max_keys
        self._clock = clock
        self._last: OrderedDict[K, float] = OrderedDict()

    def due(self, key: K) -> bool:
        """True (and the time noted) when ``key`` was not due in the last ``every`` s."""
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self._every:
            return False
        self._last[key] = now
        self._last.move_to_end(key)
        while len(self._last) > self._max:
            self._last.popitem(last=False)
        return True

    def reset(self, key: K) -> None:
        """Forget ``key`` (its action failed: the next call is due at once)."""
        self._last.pop(key, None)
