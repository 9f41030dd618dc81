"""The flusher: write-behind from the live log's durable stream to SQL.

Per session, one round is: ``read_durable`` a bounded batch, map it to rows
(:mod:`realtime.flushmap`), insert them with ``ON CONFLICT DO NOTHING`` in one SQL
transaction, commit, and only then ``trim_durable`` up to the batch's last seq (every
session of a commit in one call: one write on a Redis worker's script connection). An event
is therefore acknowledged (trimmed) only once it is committed, and a crash anywhere in
between leaves it in the stream to be replayed, which stores nothing twice.

No per-flusher state is needed to resume: the untrimmed head of each durable stream *is*
the pending work. A restarted flusher, or any other one, takes over whatever a dead one
left (what ``XAUTOCLAIM`` does for Redis consumer groups, without the group). Of several
flushers (one per web process, a ``vclient flusher``) the holder of the flusher duty
scans (:mod:`realtime.duty`); two scanning at once may insert a batch twice, which the
idempotent insert makes harmless, and a trim never passes what its flusher committed.

Which sessions: those :mod:`realtime.flushlist` lists from SQL (on every scan while the
process has a socket open, else at most once per ``list_seconds`` while one page holds
them all), ``sessions_per_scan`` at a time; a scan
reads each one's first batch ``sessions_per_look`` sessions per ``read_durable_many``
(one round trip on a standalone Redis, not one per session). What those reads find is
stored together, one transaction per ``batch_events`` events rather than one per session;
a session with more waiting goes on in rounds of its own.

Outages: a failed scan (SQL or the backend unreachable) is retried after a bounded
exponential backoff; the durable streams keep everything meanwhile (Redis idle TTL: two
days) and the next good scan catches up. :meth:`Flusher.lag` reports what is waiting.

Bad events: a session whose flush fails while the database still answers a ping has an
event SQL refuses (a NUL in PostgreSQL text, a lone surrogate anywhere). That session
alone backs off; the scan goes on with every other session. After
``set_aside_after_failures`` failures its events are stored one at a time and each one
refused is kept instead as an ``event_set_aside`` audit row (ASCII-escaped JSON, which
any database stores), logged as an error and listed in ``/readyz``; nothing is dropped
silently. Ending a session sets a bad event aside at once, so the end is never held up.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime

from realtime.backends import RealtimeBackend
from realtime.control import utcnow
from realtime.duty import Duty
from realtime.events import SequencedEvent
from realtime.flushlist import SessionListing
from realtime.flushmap import FlushPlan, insert_rows, plan, set_aside_row
from realtime.flushpolicy import Failing, FlusherPolicy, Pending, lag_report
from realtime.lifecycle import TERMINAL, SessionAction, SessionStatus
from realtime.nap import nap
from storage.db import Database
from storage.models import Session
from storage.repos import flushing as flush_repo

log = logging.getLogger(__name__)

__all__ = ["Flusher", "FlusherPolicy"]  # the policy lives in realtime.flushpolicy


class Flusher:
    def __init__(
        self,
        db: Database,
        backend: RealtimeBackend,
        policy: FlusherPolicy | None = None,
        *,
        now: Callable[[], datetime] = utcnow,
        clock: Callable[[], float] = time.monotonic,
        duty: Duty | None = None,
    ) -> None:
        self._db = db
        #: Shared with the deployment's other flushers: only its holder's loop scans
        #: (None: this loop always does). A final or before-end flush runs regardless.
        self.duty = duty
        self._backend = backend
        self.policy = policy or FlusherPolicy()
        self._now = now
        self._clock = clock
        self._pending: dict[uuid.UUID, Pending] = {}
        #: Which sessions to look at (``listing.serving`` says whether sockets are open).
        self.listing = SessionListing(db, self.policy, now=now, clock=clock)
        self._failures = 0
        self._last_error: str | None = None
        self._failing: dict[uuid.UUID, Failing] = {}
        self._set_aside: deque[dict[str, object]] = deque(maxlen=self.policy.set_aside_reported)

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
            await self._commit([(session_id, events)])
            done += len(events)
            after = events[-1].seq
            if len(events) < self.policy.batch_events:
                break
        else:
            return done  # still behind: keep the lag entry, the next scan continues
        self._pending.pop(session_id, None)
        return done

    async def _commit(self, group: Sequence[tuple[uuid.UUID, list[SequencedEvent]]]) -> None:
        """Store the events of one or more sessions in one transaction, then trim each
        session's durable stream up to what was stored: nothing is acknowledged before it
        is committed. Raises what the backend or the database raise."""
        plans = [(session_id, plan(events)) for session_id, events in group]
        await self._store_many(plans)
        await self._backend.trim_durable({str(sid): batch.upto for sid, batch in plans})

    async def _store_many(self, plans: Sequence[tuple[uuid.UUID, FlushPlan]]) -> None:
        rows = insert_rows(plans, self._now())
        async with self._db.session() as db:
            await flush_repo.insert_messages(db, rows.messages)
            await flush_repo.insert_events(db, rows.audits)
            await flush_repo.insert_usage(db, rows.usage)
            await flush_repo.raise_tokens_used(db, rows.tokens_used)

    def _note_pending(self, session_id: uuid.UUID, events: Sequence[SequencedEvent]) -> None:
        oldest = events[0].seq
        pending = self._pending.get(session_id)
        if pending is None or pending.oldest_seq != oldest:
            self._pending[session_id] = Pending(oldest, len(events), self._clock())
        else:
            pending.events = max(pending.events, len(events))

    async def flush_before_end(self, session_id: uuid.UUID) -> None:
        """A ``SessionControl.before_terminal`` hook (after the one that stops the running
        reply and waits for its end): the transcript is whole before the end is written.
        A bad event does not hold the end up: it is set aside, then the rest is flushed."""
        try:
            await self.flush_session(session_id)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if not await self._db.reachable():
                raise
            log.warning("flush before the end of %s failed (%s); setting aside", session_id, error)
            await self.set_aside(session_id)
            await self.flush_session(session_id)

    # -- bad events -----------------------------------------------------------------------

    async def set_aside(self, session_id: uuid.UUID) -> int:
        """Store the session's waiting events one at a time; each one SQL refuses is kept
        as an ``event_set_aside`` audit row instead (escaped, so any database stores it)
        and trimmed like a stored one. Returns how many were set aside. Raises what the
        database raises for the audit row itself (then nothing more is trimmed)."""
        sid, after, aside = str(session_id), 0, 0
        for _ in range(self.policy.batch_events):
            events = await self._backend.read_durable(sid, after, 1)
            if not events:
                break
            event = events[0]
            try:
                await self._store_many([(session_id, plan([event]))])
            except asyncio.CancelledError:
                raise
            except Exception as error:
                problem = f"{type(error).__name__}: {error}"
                await self._store_many(
                    [(session_id, FlushPlan((), (set_aside_row(event, problem),), 0))]
                )
                self._set_aside.append(
                    {"session_id": sid, "seq": event.seq, "error": problem[:200]}
                )
                log.error(
                    "set aside event %s of session %s (kept as an audit row): %s",
                    event.seq,
                    sid,
                    problem[:200],
                )
                aside += 1
            await self._backend.trim_durable({sid: event.seq})
            after = event.seq
        self._failing.pop(session_id, None)
        return aside

    async def _session_failed(self, session_id: uuid.UUID, error: Exception) -> None:
        """One session's flush failed while the database answers: back off, and set its
        bad events aside once it has failed ``set_aside_after_failures`` times."""
        failing = self._failing.get(session_id) or Failing(0, 0.0, "")
        failing.failures += 1
        failing.error = f"{type(error).__name__}: {error}"[:300]
        failing.retry_at = self._clock() + self.policy.backoff_seconds(failing.failures)
        self._failing[session_id] = failing
        log.warning(
            "flush of session %s failed (%d in a row): %s",
            session_id,
            failing.failures,
            failing.error,
            exc_info=failing.failures == 1,
        )
        if failing.failures >= self.policy.set_aside_after_failures:
            await self.set_aside(session_id)

    async def after_transition(
        self, session: Session, _action: SessionAction, _reason: str | None
    ) -> None:
        """A ``SessionControl.after_transition`` hook: the next scan lists the sessions
        again (one started here has its events flushed from that scan on); an ended
        session's live keys expire ``live_keys_after_end_seconds`` later."""
        self.listing.stale()
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
        acknowledged. A session whose flush fails while the database answers is handled
        on its own (backoff, then its bad events set aside) and the scan goes on; when the
        database or the backend is down, the scan measures what waits and raises."""
        outage: Exception | None = None
        try:
            ids = await self._session_ids()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            outage, ids = error, list(self.listing.known)
        done = 0
        if outage is None:
            try:
                done, ids = await self._flush_together(ids)
            except asyncio.CancelledError:
                raise
            except Exception:
                pass  # one session at a time, below, tells an outage from a bad event
        for session_id in ids:
            try:
                if outage is not None or self._backing_off(session_id):
                    await self._measure(session_id)
                    continue
                done += await self.flush_session(session_id)
                self._failing.pop(session_id, None)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if outage is not None:
                    break  # the backend is down too: nothing more to learn this scan
                if await self._db.reachable():
                    await self._session_failed(session_id, error)
                else:
                    outage = error
        if outage is not None:
            raise outage
        return done

    async def _flush_together(self, ids: Sequence[uuid.UUID]) -> tuple[int, list[uuid.UUID]]:
        """Every session's first round, one transaction per ``batch_events`` events (25
        sessions with a new message: one commit, not 25; a commit cost ~2.4 ms of CPU on
        SQLite here). Returns the events acknowledged and the sessions left to flush one
        at a time: those backing off, those with more waiting than a round, and all of a
        group whose transaction failed (one bad event, found alone, holds no one up)."""
        rest: list[uuid.UUID] = []
        group: list[tuple[uuid.UUID, list[SequencedEvent]]] = []
        done = size = 0
        step = self.policy.sessions_per_look
        for start in range(0, len(ids), step):
            for session_id, events in await self._look(ids[start : start + step], rest):
                if not events:
                    self._pending.pop(session_id, None)
                    continue
                self._note_pending(session_id, events)
                group.append((session_id, events))
                size += len(events)
                if size >= self.policy.batch_events:
                    done += await self._store_group(group, rest)
                    group, size = [], 0
        if group:
            done += await self._store_group(group, rest)
        return done, rest

    async def _look(
        self, ids: Sequence[uuid.UUID], rest: list[uuid.UUID]
    ) -> list[tuple[uuid.UUID, list[SequencedEvent]]]:
        """The first ``batch_events`` waiting events of each session, read in one backend
        call (one round trip on a standalone Redis); one backing off goes to ``rest`` unread."""
        looking: list[uuid.UUID] = []
        for session_id in ids:
            (rest if self._backing_off(session_id) else looking).append(session_id)
        sids = [str(session_id) for session_id in looking]
        found = await self._backend.read_durable_many(sids, self.policy.batch_events)
        return list(zip(looking, found, strict=True))

    async def _store_group(
        self, group: Sequence[tuple[uuid.UUID, list[SequencedEvent]]], rest: list[uuid.UUID]
    ) -> int:
        try:
            await self._commit(group)
        except asyncio.CancelledError:
            raise
        except Exception:
            rest.extend(session_id for session_id, _ in group)
            return 0
        for session_id, events in group:
            self._failing.pop(session_id, None)
            if len(events) < self.policy.batch_events:
                self._pending.pop(session_id, None)
            else:
                rest.append(session_id)  # more waits: its own rounds continue
        return sum(len(events) for _, events in group)

    def _backing_off(self, session_id: uuid.UUID) -> bool:
        failing = self._failing.get(session_id)
        return failing is not None and self._clock() < failing.retry_at

    async def _session_ids(self) -> list[uuid.UUID]:
        ids, whole_pass = await self.listing.next()
        if whole_pass and self._pending:
            # A full pass is complete: forget sessions that left the watch list.
            live = set(ids)
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
                wait = self.policy.backoff_seconds(self._failures)
                if self.duty is None or await self.duty.take(wait):
                    await self.scan()
                else:
                    self._pending.clear()  # the holder's to measure now; stale here
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
            await nap(stop, self.policy.backoff_seconds(self._failures))
        if self.duty is not None:
            await self.duty.give_up()

    # -- lag ------------------------------------------------------------------------------

    def lag(self) -> dict[str, object]:
        """What waits, from this flusher's last look (no I/O, never raises): see
        :func:`realtime.flushpolicy.lag_report`."""
        report = lag_report(
            self.policy,
            self._pending.values(),
            self._clock(),
            failed_scans=self._failures,
            last_error=self._last_error,
            failing_sessions=len(self._failing),
            set_aside=list(self._set_aside),
        )
        if self.duty is not None:  # a loop standing by measures nothing: see the holder's
            report["duty"] = self.duty.state
        return report

    async def readiness(self) -> dict[str, object]:
        """The ``/readyz`` probe (``AppState.readiness["flusher"]``)."""
        return self.lag()
