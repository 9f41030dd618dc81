"""In-process backend: the single-worker default (not a test fake), same semantics as Redis.

Every method runs without awaiting in between its reads and writes, so each is atomic on
the event loop exactly as a Lua script is atomic in Redis. Expiry is lazy (checked on
access, with a sweep of dead sessions on ``open_log``) against an injectable clock.

The retained window keeps each event as Redis does, as JSON text (with its seq, in a
tuple the garbage collector stops tracking), not as the live object: live subscribers get
the object as it is appended; a read decodes. Kept as objects, 2,000 events a session
were ~4 tracked objects each, walked by every full collection: at S=200 in the benchmark
the heap grew past 440k objects in 40 s and one full pass stopped the loop 404 ms
(``gc.callbacks``); 200 sessions' full windows were 1.6M objects and a 232 ms pass. The
text is what ``encode`` makes: a serving process passes its frame cache's, so an event is
encoded once for its window and every socket (2.4 us an event).
"""

from __future__ import annotations

import json
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from pydantic_core import PydanticSerializationError

from realtime.backends.base import (
    DEFAULT_IDLE_TTL,
    DEFAULT_SUBSCRIBER_QUEUE,
    DEFAULT_WINDOW,
    READ_BATCH,
    Event,
    LogEntry,
    LogMissing,
    SayClaim,
    SayOpening,
    Subscriber,
    Subscription,
    check_subscribe,
    stamped_entry,
)
from realtime.backends.memory_presence import Roster
from realtime.eventlog import LogGapError, LogInfo
from realtime.events import Presence, ReplyStop, decode_event, payload, payload_json
from realtime.vocabulary import Role

#: Sweeping all sessions is O(sessions); once a minute keeps it negligible.
SWEEP_EVERY = 60.0


#: A retained event: its seq and its text, as the backend's ``encode`` made it (no
#: container in it, so the collector untracks the tuple at its first pass).
_Stored = tuple[int, str]


@dataclass
class _Log:
    epoch: str
    last_seq: int
    window: deque[_Stored]
    durable: deque[LogEntry] = field(default_factory=deque)
    expires_at: float = 0.0
    subscribers: set[Subscriber] = field(default_factory=set)


@dataclass
class _Timed:
    value: str
    expires_at: float


def _stored(event: Event, encode: Callable[[Event], str]) -> str:
    """``event`` as the window keeps it. The edges refuse text UTF-8 cannot carry (a lone
    surrogate); one appended below them is kept escaped, as Redis would store it."""
    try:
        return encode(event)
    except PydanticSerializationError:
        return json.dumps(payload(event), ensure_ascii=True)


class MemoryBackend:
    """See :class:`realtime.backends.base.RealtimeBackend` for the contract."""

    def __init__(
        self,
        *,
        window: int = DEFAULT_WINDOW,
        idle_ttl: float = DEFAULT_IDLE_TTL,
        subscriber_queue: int = DEFAULT_SUBSCRIBER_QUEUE,
        clock: Callable[[], float] = time.monotonic,
        encode: Callable[[Event], str] = payload_json,
    ) -> None:
        """``encode``: an appended event (its seq set) as JSON text that
        :func:`realtime.events.decode_event` reads back (the seq in it or not)."""
        if window < 1:
            raise ValueError("window must be >= 1")
        self._window = window
        self._encode = encode
        self._idle_ttl = idle_ttl
        self._queue_size = subscriber_queue
        self._clock = clock
        self._logs: dict[str, _Log] = {}
        self._claims: dict[tuple[str, str], _Timed] = {}
        self._replies: dict[str, _Timed] = {}
        self._duties: dict[str, _Timed] = {}
        self._stops: dict[str, str] = {}
        self._presence: dict[str, Roster] = {}
        self._next_sweep = clock() + SWEEP_EVERY

    # -- log ------------------------------------------------------------------------------

    def _log(self, session_id: str) -> _Log | None:
        log = self._logs.get(session_id)
        if log is not None and log.expires_at <= self._clock():
            self._drop_log(session_id, log)
            return None
        return log

    def _drop_log(self, session_id: str, log: _Log) -> None:
        del self._logs[session_id]
        for sub in log.subscribers:
            sub.fail(LogGapError("epoch_changed", sub.after))

    def _info(self, log: _Log) -> LogInfo:
        first = log.window[0][0] if log.window else log.last_seq + 1
        return LogInfo(log.epoch, log.last_seq, first)

    async def open_log(self, session_id: str, floor_seq: int) -> LogInfo:
        if floor_seq < 0:
            raise ValueError("floor_seq must be >= 0")
        self._sweep()
        log = self._log(session_id)
        if log is None:
            log = _Log(secrets.token_hex(8), floor_seq, deque(maxlen=self._window))
            self._logs[session_id] = log
        log.expires_at = max(log.expires_at, self._clock() + self._idle_ttl)
        return self._info(log)

    async def log_info(self, session_id: str) -> LogInfo | None:
        log = self._log(session_id)
        return None if log is None else self._info(log)

    async def log_since(
        self, session_id: str, after: int, limit: int
    ) -> tuple[LogInfo, list[Event]] | None:
        info = await self.log_info(session_id)
        return None if info is None else (info, await self.read(session_id, after, limit))

    async def append(self, session_id: str, events: Sequence[Event]) -> list[int]:
        if not events:
            return []  # no round trip in Redis either, so no existence check
        log = self._log(session_id)
        if log is None:
            raise LogMissing(session_id)
        return self._append(log, events)

    def _append(self, log: _Log, events: Sequence[Event]) -> list[int]:
        seqs: list[int] = []
        for event in events:
            log.last_seq += 1
            entry = stamped_entry(log.last_seq, log.epoch, event)
            log.window.append((entry.seq, _stored(entry.event, self._encode)))
            if event.durable:
                log.durable.append(entry)
            for sub in log.subscribers:
                sub.offer(entry)
            seqs.append(log.last_seq)
        log.expires_at = max(log.expires_at, self._clock() + self._idle_ttl)
        return seqs

    async def _read_entries(self, session_id: str, after: int, limit: int) -> list[LogEntry]:
        log = self._log(session_id)
        if log is None or not log.window:
            return []
        window, epoch = log.window, log.epoch
        start = max(0, after + 1 - window[0][0])
        stored = (window[i] for i in range(start, min(len(window), start + limit)))
        return [LogEntry(seq, epoch, decode_event(text, seq)) for seq, text in stored]

    async def read(self, session_id: str, after: int, limit: int) -> list[Event]:
        return [entry.event for entry in await self._read_entries(session_id, after, limit)]

    @asynccontextmanager
    async def subscribe(
        self, session_id: str, after: int, epoch: str | None = None
    ) -> AsyncIterator[Subscription]:
        info = check_subscribe(await self.log_info(session_id), after, epoch)
        log = self._logs[session_id]
        sub = Subscriber(session_id, after, info.epoch, self._queue_size)
        log.subscribers.add(sub)
        try:
            yield Subscription(sub, lambda a, n: self._read_entries(session_id, a, n))
        finally:
            log.subscribers.discard(sub)
            sub.detach()

    def subscriber_count(self, session_id: str) -> int:
        """Live subscriptions of a session (introspection for tests and metrics)."""
        log = self._logs.get(session_id)
        return 0 if log is None else len(log.subscribers)

    async def read_durable(self, session_id: str, after: int, limit: int) -> list[Event]:
        log = self._log(session_id)
        if log is None:
            return []
        picked = [e for e in log.durable if e.seq > after][:limit]
        return [e.event for e in picked]

    async def read_durable_many(self, session_ids: Sequence[str], limit: int) -> list[list[Event]]:
        return [await self.read_durable(session_id, 0, limit) for session_id in session_ids]

    async def trim_durable(self, upto: Mapping[str, int]) -> None:
        for session_id, last in upto.items():
            log = self._log(session_id)
            while log is not None and log.durable and log.durable[0].seq <= last:
                log.durable.popleft()

    # -- claims and the reply lock --------------------------------------------------------------

    def _alive(self, item: _Timed | None) -> _Timed | None:
        return item if item is not None and item.expires_at > self._clock() else None

    async def claim_once(self, session_id: str, key: str, ttl: float) -> bool:
        if self._alive(self._claims.get((session_id, key))) is not None:
            return False
        self._claims[(session_id, key)] = _Timed("", self._clock() + ttl)
        return True

    async def record_claim(self, session_id: str, key: str, value: str) -> None:
        claim = self._alive(self._claims.get((session_id, key)))
        if claim is not None:
            claim.value = value

    async def claim(self, session_id: str, key: str, ttl: float) -> str | None:
        claim = self._alive(self._claims.get((session_id, key)))
        if claim is not None:
            return claim.value
        self._claims[(session_id, key)] = _Timed("", self._clock() + ttl)
        return None

    def _owner(self, session_id: str) -> str | None:
        lock = self._alive(self._replies.get(session_id))
        if lock is None:
            self._replies.pop(session_id, None)
            self._stops.pop(session_id, None)
            return None
        return lock.value

    async def acquire_reply(self, session_id: str, reply_id: str, ttl: float) -> bool:
        if self._owner(session_id) is not None:
            return False
        self._replies[session_id] = _Timed(reply_id, self._clock() + ttl)
        return True

    async def open_say(
        self, session_id: str, reply_id: str, ttl: float, after: int, claim: SayClaim
    ) -> SayOpening:
        # Atomic here too: none of these awaits suspends (one event loop, no I/O).
        acquired = await self.acquire_reply(session_id, reply_id, ttl)
        since = await self.log_since(session_id, after, READ_BATCH)
        recorded = await self.claim(session_id, claim.key, claim.ttl) if acquired else None
        return SayOpening(acquired, since, recorded)

    async def refresh_reply(self, session_id: str, reply_id: str, ttl: float) -> bool:
        if self._owner(session_id) != reply_id:
            return False
        self._replies[session_id].expires_at = self._clock() + ttl
        return True

    async def release_reply(self, session_id: str, reply_id: str) -> bool:
        if self._owner(session_id) != reply_id:
            return False
        del self._replies[session_id]
        self._stops.pop(session_id, None)
        return True

    async def hold_duty(self, duty: str, holder: str, ttl: float) -> bool:
        held = self._alive(self._duties.get(duty))
        if held is not None and held.value != holder:
            return False
        self._duties[duty] = _Timed(holder, self._clock() + ttl)
        return True

    async def release_duty(self, duty: str, holder: str) -> None:
        held = self._duties.get(duty)
        if held is not None and held.value == holder:
            del self._duties[duty]

    async def current_reply(self, session_id: str) -> str | None:
        return self._owner(session_id)

    async def request_stop(self, session_id: str, reply_id: str, event: ReplyStop) -> int | None:
        log = self._log(session_id)
        if log is None:
            raise LogMissing(session_id)
        if self._owner(session_id) != reply_id or self._stops.get(session_id) == reply_id:
            return None
        self._stops[session_id] = reply_id
        return self._append(log, [event])[0]

    async def stop_requested(self, session_id: str, reply_id: str) -> bool:
        return self._owner(session_id) == reply_id and self._stops.get(session_id) == reply_id

    # -- presence -------------------------------------------------------------------------------

    def _count(self, session_id: str) -> Presence:
        roster = self._presence.get(session_id)
        if roster is None:
            return Presence(student_online=False, observers=0)
        now = roster.count(self._clock())
        if not roster:
            del self._presence[session_id]
        return now

    async def presence_touch(
        self, session_id: str, conn_id: str, role: Role, ttl: float
    ) -> Presence:
        roster = self._presence.setdefault(session_id, Roster())
        roster.touch(conn_id, role, self._clock() + ttl)
        return self._count(session_id)

    async def presence_leave(self, session_id: str, conn_id: str) -> Presence:
        roster = self._presence.get(session_id)
        if roster is not None:
            roster.leave(conn_id)
        return self._count(session_id)

    async def presence(self, session_id: str) -> Presence:
        return self._count(session_id)

    # -- lifetime -------------------------------------------------------------------------------

    async def expire_session_keys(self, session_id: str, seconds: float) -> None:
        deadline = self._clock() + seconds
        log = self._logs.get(session_id)
        if log is not None:
            log.expires_at = deadline
            if seconds <= 0:
                self._drop_log(session_id, log)
        lock = self._replies.get(session_id)
        if lock is not None:
            lock.expires_at = min(lock.expires_at, deadline)
        roster = self._presence.get(session_id)
        if roster is not None:
            roster.cut_to(deadline)
        if seconds <= 0:
            self._owner(session_id)
            self._count(session_id)

    def _sweep(self) -> None:
        now = self._clock()
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_EVERY
        for session_id, log in list(self._logs.items()):
            if log.expires_at <= now:
                self._drop_log(session_id, log)
        for key in [k for k, c in self._claims.items() if c.expires_at <= now]:
            del self._claims[key]
        for session_id in [s for s, r in self._replies.items() if r.expires_at <= now]:
            self._owner(session_id)
        for session_id in list(self._presence):
            self._count(session_id)

    async def aclose(self) -> None:
        for session_id, log in list(self._logs.items()):
            for sub in log.subscribers:
                sub.fail(LogGapError("epoch_changed", sub.after))
            del self._logs[session_id]
