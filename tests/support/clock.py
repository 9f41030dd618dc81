"""A monotonic clock the test moves (``clock.now += 5``), so time-based code is tested
without sleeping."""

from __future__ import annotations

__all__ = ["DrivenClock"]


class DrivenClock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
