"""The flusher: write-behind from the live log's durable stream to SQL.

Per session, one round is: ``read_durable`` a bounded batch, map it to rows
(:mod:`realtime.flushmap`), insert them with ``ON CONFLICT DO NOTHING`` in one SQL
transaction, commit, and only then ``trim_durable`` up to the batch's last seq. An event
is therefore acknowledged (trimmed) only once it is committed, and a crash anywhere in
between leaves it in the stream to be replayed, which stores nothing twice.

No per-flusher state is needed to resume: the untrimmed head of each durable stream *is*
the pending work. A restarted flusher, or any other one, takes over whatever a dead one
left (what ``XAUTOCLAIM`` does for Redis consumer groups, without the group). Several
flushers may run at once (one per web process plus ``vclient flusher``): they may insert
the same batch twice, which the idempotent insert makes harmless, and a trim never passes
what the trimming flusher committed itself, so nothing is acknowledged uncommitted.

Which sessions: every scan lists, from SQL, sessions not yet ended and sessions ended in
the last ``ended_window_seconds`` (a reply that outlived the end's grace period logs its
end afterwards), ``sessions_per_scan`` at a time (keyset pages, so all get their turn),
and checks each with one ``read_durable``.

Outages: a failed scan (SQL or the backend unreachable) is retried after a bounded
exponential backoff; the durable streams keep everything meanwhile (Redis idle TTL: two
days) and the next good scan catches up. :meth:`Flusher.lag` reports what is waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from realtime.backends import RealtimeBackend
from realtime.control import utcnow
from realtime.events import SequencedEvent
from realtime.flushmap import FlushPlan, plan
from realtime.lifecycle import TERMINAL, SessionAction, SessionStatus
from storage.db import Database
from storage.models import Session
from storage.repos import flushing as flush_repo

log = logging.getLogger(__name__)


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
    # Sessions checked per scan (one cheap read each); more are taken page by page.
    sessions_per_scan: int = 2_000
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


@dataclass(slots=True)
class _Pending:
    oldest_seq: int
    events: int
    since: float  # monotonic time this flusher first saw ``oldest_seq`` waiting


class Flusher:
    def __init__(
        self,
        db: Database,
        backend: RealtimeBackend,
        policy: FlusherPolicy | None = None,
        *,
        now: Callable[[], datetime] = utcnow,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._backend = backend
        self.policy = policy or FlusherPolicy()
        self._now = now
        self._clock = clock
        self._pending: dict[uuid.UUID, _Pending] = {}
        self._cursor: uuid.UUID | None = None
        self._known: list[uuid.UUID] = []
        self._failures = 0
        self._last_error: str | None = None

    # -- one session ----------------------------------------------------------------------

    async def flush_session(self, session_id: uuid.UUID) -> int:
        """Move the session's durable events to SQL; returns how many were acknowledged.

        Raises what the backend or the database raise (nothing is trimmed then). Safe to
        cancel and to run concurrently with other flushers: the worst case is a replay."""
        sid = str(session_id)
        done = 0
        after = 0
        for _ in range(self.policy.max_rounds):
            events = await self._backend.read_durable(sid, after, self.policy.batch_events)
            if not events:
                break
            self._note_pending(session_id, events)
            batch = plan(events)
            await self._store(session_id, batch)
            await self._backend.trim_durable(sid, batch.upto)
            done += len(events)
            after = batch.upto
            if len(events) < self.policy.batch_events:
                break
        else:
            return done  # still behind: keep the lag entry, the next scan continues
        self._pending.pop(session_id, None)
        return done

    async def _store(self, session_id: uuid.UUID, batch: FlushPlan) -> None:
        common = {"session_id": session_id, "created_at": self._now()}
        messages = [{**asdict(m), **common} for m in batch.messages]
        audits = [{**asdict(a), **common} for a in batch.audits]
        async with self._db.session() as db:
            await flush_repo.insert_messages(db, messages)
            await flush_repo.insert_events(db, audits)

    def _note_pending(self, session_id: uuid.UUID, events: Sequence[SequencedEvent]) -> None:
        oldest = events[0].seq
        pending = self._pending.get(session_id)
        if pending is None or pending.oldest_seq != oldest:
            self._pending[session_id] = _Pending(oldest, len(events), self._clock())
        else:
            pending.events = max(pending.events, len(events))

    async def flush_before_end(self, session_id: uuid.UUID) -> None:
        """A ``SessionControl.before_terminal`` hook (after the one that stops the running
        reply and waits for its end): the transcript is whole before the end is written."""
        await self.flush_session(session_id)

    async def after_transition(
        self, session: Session, _action: SessionAction, _reason: str | None
    ) -> None:
        """A ``SessionControl.after_transition`` hook: an ended session's live keys
        expire ``live_keys_after_end_seconds`` later."""
        if SessionStatus(session.status) not in TERMINAL:
            return
        try:
            await self._backend.expire_session_keys(
                str(session.id), self.policy.live_keys_after_end_seconds
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            # The transition is committed; the keys still lapse after the idle TTL.
            log.warning("could not set the expiry of session %s's live keys", session.id)

    # -- all sessions ---------------------------------------------------------------------

    async def scan(self) -> int:
        """One pass over the sessions that may have unflushed events; returns the events
        acknowledged. Raises the first failure after measuring what is left waiting."""
        failure: Exception | None = None
        try:
            ids = await self._session_ids()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            failure, ids = error, list(self._known)
        done = 0
        for session_id in ids:
            try:
                if failure is None:
                    done += await self.flush_session(session_id)
                else:
                    await self._measure(session_id)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if failure is not None:
                    break  # the backend is down too: nothing more to learn this scan
                failure = error
        if failure is not None:
            raise failure
        return done

    async def _session_ids(self) -> list[uuid.UUID]:
        since = self._now() - timedelta(seconds=self.policy.ended_window_seconds)
        limit = self.policy.sessions_per_scan
        async with self._db.session() as db:
            ids = await flush_repo.sessions_to_flush(db, since, self._cursor, limit)
        self._cursor = ids[-1] if len(ids) == limit else None
        self._known = ids
        live = set(ids)
        if self._cursor is None and self._pending:
            # A full pass is complete: forget sessions that left the watch list.
            for gone in [s for s in self._pending if s not in live]:
                del self._pending[gone]
        return ids

    async def _measure(self, session_id: uuid.UUID) -> None:
        """Record what waits in a session's stream without storing it (database down)."""
        events = await self._backend.read_durable(str(session_id), 0, self.policy.batch_events)
        if events:
            self._note_pending(session_id, events)
        else:
            self._pending.pop(session_id, None)

    async def run(self, stop: asyncio.Event) -> None:
        """Scan until ``stop`` is set; a scan in progress finishes first. Cancelling is
        safe too: an interrupted round has trimmed nothing it did not commit."""
        while not stop.is_set():
            try:
                await self.scan()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self._failures += 1
                self._last_error = f"{type(error).__name__}: {error}"[:300]
                log.warning(
                    "flush failed (%d in a row, retrying): %s; lag %s",
                    self._failures,
                    self._last_error,
                    self.lag(),
                    exc_info=self._failures == 1,
                )
            else:
                if self._failures:
                    log.info("flusher caught up after %d failed scans", self._failures)
                self._failures = 0
                self._last_error = None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._delay()):
                    await stop.wait()

    def _delay(self) -> float:
        if not self._failures:
            return self.policy.interval_seconds
        backoff: float = self.policy.interval_seconds * 2.0 ** min(self._failures, 16)
        return min(self.policy.backoff_max_seconds, backoff)

    # -- lag ------------------------------------------------------------------------------

    def lag(self) -> dict[str, object]:
        """What waits, from this flusher's last look (no I/O, never raises):
        ``unflushed_events`` is a lower bound (one batch per session is read at a time),
        ``oldest_unflushed_seconds`` counts from when this flusher first saw it waiting."""
        now = self._clock()
        oldest = max((now - p.since for p in self._pending.values()), default=0.0)
        status = "ok"
        if self._failures:
            status = "retrying"
        elif oldest > self.policy.lag_alert_seconds:
            status = "behind"
        return {
            "status": status,
            "unflushed_events": sum(p.events for p in self._pending.values()),
            "oldest_unflushed_seconds": round(oldest, 2),
            "sessions_waiting": len(self._pending),
            "failed_scans": self._failures,
            "last_error": self._last_error,
        }

    async def readiness(self) -> dict[str, object]:
        """The ``/readyz`` probe (``AppState.readiness["flusher"]``)."""
        return self.lag()
