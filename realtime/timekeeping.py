"""Active-time accounting (pure). Paused time does not count: ``banked`` holds active
seconds from earlier stretches; while active, ``active_since`` marks the current one.
Every worker computes the same ``seconds_left`` from the same stored fields."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from realtime.lifecycle import SessionAction, SessionStatus


@dataclass(frozen=True, slots=True)
class ActiveClock:
    limit_seconds: int
    banked_seconds: float
    active_since: datetime | None

    def used(self, now: datetime) -> float:
        running = (now - self.active_since).total_seconds() if self.active_since else 0.0
        return self.banked_seconds + max(running, 0.0)

    def seconds_left(self, now: datetime) -> float:
        return max(self.limit_seconds - self.used(now), 0.0)

    def deadline(self) -> datetime | None:
        """When active time runs out, if the clock is running."""
        if self.active_since is None:
            return None
        return self.active_since + timedelta(seconds=self.limit_seconds - self.banked_seconds)


def transition_values(
    action: SessionAction,
    to: SessionStatus,
    clock: ActiveClock,
    now: datetime,
    *,
    reason: str | None = None,
    add_seconds: int = 0,
) -> dict[str, Any]:
    """Column values a transition writes: status plus the time bookkeeping."""
    values: dict[str, Any] = {"status": to.value}
    banked = clock.used(now) if clock.active_since else clock.banked_seconds
    limit = clock.limit_seconds + add_seconds
    if to is SessionStatus.ACTIVE:
        running = ActiveClock(limit, banked, now)
        values |= {
            "active_seconds": banked,
            "active_since": now,
            "deadline_at": running.deadline(),
            "time_limit_seconds": limit,
            "ended_at": None,
            "end_reason": None,
        }
        if action is SessionAction.START:
            values |= {"started_at": now, "last_activity_at": now}
        if action is SessionAction.EXTEND:
            values["last_activity_at"] = now
    else:
        values |= {"active_seconds": banked, "active_since": None, "deadline_at": None}
        if to in (SessionStatus.COMPLETED, SessionStatus.EXPIRED):
            values |= {"ended_at": now, "end_reason": reason}
    return values
