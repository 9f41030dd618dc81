"""How long callers waited for a pooled connection, tallied for ``/metrics``.

A pool that makes callers wait is the first sign of a pool sized too small for the load
(issue 12 saw SQLAlchemy's pool time out and redis-py's refuse commands at 100 sessions);
the wait shows up here well before it surfaces as an error. Pure: the pools call
:meth:`WaitTally.observe` (SQL here, Redis in ``realtime.backends.redis_pool``) and the
metrics page reads :meth:`WaitTally.snapshot` when scraped.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry

__all__ = ["WAIT_BUCKETS", "TimedQueuePool", "WaitSnapshot", "WaitTally"]

#: Upper bounds in seconds. A checkout from a pool with a free connection takes ~10 µs;
#: opening a new PostgreSQL connection ~5-20 ms on loopback; the pools give up after 30 s
#: (SQL, ``DB_POOL_TIMEOUT_SECONDS``) and 10 s (Redis).
WAIT_BUCKETS = (0.001, 0.005, 0.025, 0.1, 0.5, 2.0, 10.0, 30.0)


@dataclass(frozen=True)
class WaitSnapshot:
    #: Cumulative counts per bucket of :data:`WAIT_BUCKETS` (Prometheus' ``le``).
    cumulative: tuple[int, ...]
    count: int
    total_seconds: float
    timeouts: int


class WaitTally:
    """Counts of checkout waits by bucket, their sum, and the checkouts that gave up."""

    def __init__(self) -> None:
        self._counts = [0] * (len(WAIT_BUCKETS) + 1)  # the last one is +Inf
        self._total = 0.0
        self._timeouts = 0

    def observe(self, seconds: float) -> None:
        self._counts[bisect.bisect_left(WAIT_BUCKETS, seconds)] += 1
        self._total += seconds

    def timed_out(self) -> None:
        self._timeouts += 1

    @contextmanager
    def timing(self, *timeout_errors: type[BaseException]) -> Iterator[None]:
        """Observe the block's duration; count it as a timeout when it raises one of
        ``timeout_errors`` (any other failure, a refused connection, is not a wait)."""
        started = time.monotonic()
        try:
            yield
        except timeout_errors:
            self.timed_out()
            raise
        self.observe(time.monotonic() - started)

    def snapshot(self) -> WaitSnapshot:
        cumulative: list[int] = []
        running = 0
        for count in self._counts:
            running += count
            cumulative.append(running)
        return WaitSnapshot(tuple(cumulative), running, self._total, self._timeouts)


class TimedQueuePool(AsyncAdaptedQueuePool):
    """SQLAlchemy's asyncio queue pool, timing every checkout into :attr:`waits`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.waits = WaitTally()

    def _do_get(self) -> ConnectionPoolEntry:
        with self.waits.timing(PoolTimeout):
            return super()._do_get()

    def recreate(self) -> TimedQueuePool:
        # The engine recreates its pool on dispose(); the tally stays with the engine's
        # pool object so counts are never lost across a dispose.
        fresh = super().recreate()
        assert isinstance(fresh, TimedQueuePool)
        fresh.waits = self.waits
        return fresh
