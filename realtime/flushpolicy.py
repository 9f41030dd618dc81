"""The flusher's policy (:class:`FlusherPolicy`, from settings) and what it remembers
per session between scans: what waits (:class:`Pending`, for the lag report) and how a
session with a bad event is backing off (:class:`Failing`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Failing", "FlusherPolicy", "Pending", "lag_report"]


@dataclass(frozen=True, slots=True)
class FlusherPolicy:
    # Scan period. Events are in SQL within about one interval plus one commit; the
    # promise is 2 s, so 0.25 s leaves room for a slow commit and a busy scan.
    interval_seconds: float = 0.25
    # Durable events per SQL transaction: ~500 rows is ~1 MB at worst (4,000-char texts)
    # and one round trip; a session's whole durable log is usually a few hundred events.
    batch_events: int = 500
    # Rounds per flush_session call (40 x 500 = 20,000 events, far above one session's
    # log); a session still behind is continued by the next scan.
    max_rounds: int = 40
    # While no socket is open on its process, the flusher lists its sessions from SQL at
    # most this often; the scans between look only at the backend for the sessions listed
    # last. Listing on every scan was most of an idle worker's CPU (4 queries a second on
    # every worker). A session this process starts or ends is listed at its next scan; one
    # started elsewhere within this, so its first events are in SQL within 1 s + one
    # interval + a commit, inside the 2 s promise. 0: list on every scan.
    list_seconds: float = 1.0
    # Sessions checked per scan; more are taken page by page.
    sessions_per_scan: int = 2_000
    # Sessions whose first batch one backend call reads: one Redis round trip (25 idle
    # sessions cost the client ~0.43 ms of CPU so, ~2.2 ms as 25 XRANGEs one by one);
    # a scan of 2,000 takes 20. What one call brings is held until stored: at most
    # 100 x batch_events = 50,000 events (~110 MB decoded at 1,000 characters each),
    # only when every session has a full batch waiting (after an outage).
    sessions_per_look: int = 100
    # Ended sessions keep being checked this long (late reply ends, slow shutdowns).
    ended_window_seconds: float = 3_600.0
    # After a session ends and is flushed, its live keys expire this much later, so
    # late reconnects can still resume; afterwards a client is served from SQL.
    live_keys_after_end_seconds: float = 3_600.0
    # Backoff after failed scans: interval x 2^failures, at most this, so a restored
    # database is caught up within ~5 s.
    backoff_max_seconds: float = 5.0
    # Lag reported as "behind" once the oldest waiting event is older than this.
    lag_alert_seconds: float = 2.0
    # A session whose flush fails while the database answers has a bad event (say, a NUL
    # PostgreSQL cannot store): it is retried with the backoff above, and after this many
    # failures (~2 s at the defaults) its unstorable events are set aside, kept in an
    # audit row, so the rest of its transcript and every other session keep flowing.
    set_aside_after_failures: int = 3
    # Set-aside events remembered for /readyz (the audit rows keep them all).
    set_aside_reported: int = 20

    def backoff_seconds(self, failures: int) -> float:
        """The wait after ``failures`` failures in a row (of scans, or of one session's
        flush): interval x 2^failures, at most ``backoff_max_seconds``; none: one interval."""
        if not failures:
            return self.interval_seconds
        backoff = self.interval_seconds * 2.0 ** min(failures, 16)
        return min(self.backoff_max_seconds, backoff)


@dataclass(slots=True)
class Failing:
    failures: int
    retry_at: float  # monotonic
    error: str


@dataclass(slots=True)
class Pending:
    oldest_seq: int
    events: int
    since: float  # monotonic time this flusher first saw ``oldest_seq`` waiting


def lag_report(
    policy: FlusherPolicy,
    pending: Iterable[Pending],
    now: float,
    *,
    failed_scans: int,
    last_error: str | None,
    failing_sessions: int,
    set_aside: list[dict[str, object]],
) -> dict[str, object]:
    """What waits, as ``/readyz`` shows it: ``unflushed_events`` is a lower bound (one
    batch per session is read at a time), ``oldest_unflushed_seconds`` counts from when
    the flusher first saw it waiting (``now``: its monotonic clock)."""
    waiting = list(pending)
    oldest = max((now - p.since for p in waiting), default=0.0)
    status = "ok"
    if failed_scans:
        status = "retrying"
    elif oldest > policy.lag_alert_seconds:
        status = "behind"
    return {
        "status": status,
        "unflushed_events": sum(p.events for p in waiting),
        "oldest_unflushed_seconds": round(oldest, 2),
        "sessions_waiting": len(waiting),
        "failed_scans": failed_scans,
        "last_error": last_error,
        # Sessions retried on their own (a bad event), and the events set aside.
        "failing_sessions": failing_sessions,
        "set_aside": set_aside,
    }
