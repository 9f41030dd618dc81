"""The realtime backend contract, plus the subscription logic both backends share.

A backend holds a session's live state so that any worker can serve any session: the
sequenced event log (bounded window + durable stream for the SQL flusher), idempotency
claims, the reply lock and stop signal, and presence. ``memory`` is the single-process
default; ``redis`` serves many workers. One contract suite tests both.

Stop across workers: :meth:`RealtimeBackend.request_stop` appends a ``reply.stop`` event
(atomically, and only while that reply holds the reply lock) and raises a stop flag. The
worker streaming the reply follows the session log through :meth:`subscribe` (one shared
reader per worker, so this costs no extra Redis command) and sees the stop within one
XREAD wake-up, even while the LLM is silent. :meth:`stop_requested` reads the flag for the
moments a subscription cannot answer (before it started, or after it failed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from realtime.backends.cancelling import raise_if_cancelling
from realtime.eventlog import LogGapError, LogInfo, ResumeGap, check_continuity, decide_resume
from realtime.events import Presence, ReplyStop, SequencedEvent, decode_event
from realtime.vocabulary import Role

#: What the log hands out: typed events, decoded once at the backend boundary.
Event = SequencedEvent

#: Events kept in the live window per session. A 30 s reply coalesced at 25 ms is at most
#: ~1,200 deltas, usually ~200; 2,000 covers several replies of reconnect slack at
#: ~300 KB per session.
DEFAULT_WINDOW = 2_000
#: Per-subscriber queue; overflow never blocks the fan-out (the subscriber lags, re-reads).
DEFAULT_SUBSCRIBER_QUEUE = 256
#: Catch-up reads fetch this many events per round trip.
READ_BATCH = 500
#: Live keys of a session outlive its last append by this much (a session idles at most
#: a few hours; two days leaves the flusher room after an outage).
DEFAULT_IDLE_TTL = 2 * 24 * 3600.0


class LogMissing(Exception):
    """The session's live log does not exist (never opened, expired, or Redis lost it).
    Call ``open_log`` with the SQL floor and retry."""


class BackendUnavailable(Exception):
    """The backend store cannot be reached (connection refused, timeout)."""


class LogEntry(NamedTuple):
    seq: int
    epoch: str
    event: Event


def stamped_entry(seq: int, epoch: str, event: Event) -> LogEntry:
    """``event``, just appended at ``seq``, as its log entry (the event given its seq)."""
    return LogEntry(seq, epoch, event.with_seq(seq))


def field_pairs(flat: Sequence[str]) -> dict[str, str]:
    """A raw stream entry's ``[field, value, ...]`` (as RESP2 has it) as a mapping."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


def stream_entry(entry_id: str, fields: Mapping[str, str]) -> LogEntry:
    """A Redis stream entry (id ``"<seq>-0"``, fields ``e`` event JSON and ``x`` epoch) as
    a :class:`LogEntry`: the one place stored events are decoded."""
    seq = int(entry_id.partition("-")[0])
    return LogEntry(seq, fields["x"], decode_event(fields["e"], seq))


class SayClaim(NamedTuple):
    """A say's idempotency claim: its key and how long it holds."""

    key: str
    ttl: float


@dataclass(frozen=True, slots=True)
class SayOpening:
    """What :meth:`RealtimeBackend.open_say` found, in one round trip on Redis."""

    #: The reply lock was taken for this say.
    acquired: bool
    #: As :meth:`RealtimeBackend.log_since` answers, read after the lock was tried.
    since: tuple[LogInfo, list[Event]] | None
    #: The claim's answer when the lock was taken, as :meth:`RealtimeBackend.claim`
    #: gives it (None: claimed now); None too when the lock was not taken.
    recorded: str | None


class RealtimeBackend(Protocol):
    """Live session state shared by all workers. All methods may raise BackendUnavailable."""

    async def open_log(self, session_id: str, floor_seq: int) -> LogInfo:
        """Create the log if missing (counter at ``max(floor_seq, anything surviving)``, new
        random epoch); otherwise return it unchanged. Idempotent; safe to cancel."""
        ...

    async def log_info(self, session_id: str) -> LogInfo | None:
        """Where the log stands, or None if it does not exist."""
        ...

    async def log_since(
        self, session_id: str, after: int, limit: int
    ) -> tuple[LogInfo, list[Event]] | None:
        """:meth:`log_info` and :meth:`read` in one step (one round trip for a worker
        catching up with a log it knows); None if the log does not exist."""
        ...

    async def append(self, session_id: str, events: Sequence[Event]) -> list[int]:
        """Give ``events`` consecutive seqs (their own ``seq`` is ignored) and store them in
        one atomic round trip; returns the seqs. Raises LogMissing. Cancelling may or may
        not have appended the batch."""
        ...

    async def read(self, session_id: str, after: int, limit: int) -> list[Event]:
        """Up to ``limit`` retained events with seq > ``after``, in order."""
        ...

    def subscribe(
        self, session_id: str, after: int, epoch: str | None = None
    ) -> AbstractAsyncContextManager[Subscription]:
        """Every event with seq > ``after``, then live ones, in order, no gap, no duplicate.

        Entering raises LogMissing, or LogGapError("ahead"/"epoch_changed") when ``after``
        is beyond the log or ``epoch`` is not the log's. Iterating raises LogGapError when
        needed events were trimmed or the log was rebuilt. Leaving (or cancelling) unhooks
        the subscriber; safe to cancel at any point.
        """
        ...

    async def read_durable(self, session_id: str, after: int, limit: int) -> list[Event]:
        """Durable events with seq > ``after`` not yet trimmed by the flusher."""
        ...

    async def read_durable_many(self, session_ids: Sequence[str], limit: int) -> list[list[Event]]:
        """``read_durable(sid, 0, limit)`` of each session, in the order given (a session
        without a stream: ``[]``), in as few round trips as the store allows."""
        ...

    async def trim_durable(self, upto: Mapping[str, int]) -> None:
        """Forget each session's durable events with seq <= ``upto[sid]`` (the flusher
        committed them), in as few round trips as the store allows."""
        ...

    async def claim_once(self, session_id: str, key: str, ttl: float) -> bool:
        """True for the first caller of ``key`` within ``ttl`` seconds, False for retries."""
        ...

    async def record_claim(self, session_id: str, key: str, value: str) -> None:
        """Store what the first caller produced (e.g. "seq:message_id"); keeps the TTL."""
        ...

    async def claim(self, session_id: str, key: str, ttl: float) -> str | None:
        """Claim ``key`` for ``ttl`` seconds unless it is claimed: None when this call
        claimed it, else its recorded value ("" while the first caller is still at
        work). One step where :meth:`claim_once` cannot tell "at work" from "done"."""
        ...

    async def acquire_reply(self, session_id: str, reply_id: str, ttl: float) -> bool:
        """Take the session's single reply lock for ``ttl`` seconds; False if held."""
        ...

    async def open_say(
        self, session_id: str, reply_id: str, ttl: float, after: int, claim: SayClaim
    ) -> SayOpening:
        """A say's first step, atomically: :meth:`acquire_reply`, then :meth:`log_since`
        (``after``, :data:`READ_BATCH`), then, only when the lock was taken, :meth:`claim`."""
        ...

    async def refresh_reply(self, session_id: str, reply_id: str, ttl: float) -> bool:
        """Extend the lock if ``reply_id`` still owns it."""
        ...

    async def release_reply(self, session_id: str, reply_id: str) -> bool:
        """Release the lock (and its stop flag) only if ``reply_id`` still owns it."""
        ...

    async def current_reply(self, session_id: str) -> str | None:
        """The reply holding the lock, if any."""
        ...

    async def request_stop(self, session_id: str, reply_id: str, event: ReplyStop) -> int | None:
        """If ``reply_id`` holds the reply lock and no stop was requested yet, raise the stop
        flag and append ``event`` (a ``reply.stop``), atomically; return its seq. Otherwise
        None. Raises LogMissing."""
        ...

    async def stop_requested(self, session_id: str, reply_id: str) -> bool:
        """Whether a stop was requested for ``reply_id`` (and it still holds the lock)."""
        ...

    async def hold_duty(self, duty: str, holder: str, ttl: float) -> bool:
        """Take the deployment-wide ``duty`` (a background loop one process runs for all,
        as the flusher's scans) for ``holder`` for ``ttl`` seconds, or extend it when
        ``holder`` has it; False while another holder has it."""
        ...

    async def release_duty(self, duty: str, holder: str) -> None:
        """Give ``duty`` up if ``holder`` has it (compare-and-delete)."""
        ...

    async def presence_touch(
        self, session_id: str, conn_id: str, role: Role, ttl: float
    ) -> Presence:
        """Mark a connection alive for ``ttl`` seconds (heartbeat); returns the new counts."""
        ...

    async def presence_leave(self, session_id: str, conn_id: str) -> Presence: ...

    async def presence(self, session_id: str) -> Presence:
        """Live connections: entries of dead workers vanish after their ttl."""
        ...

    async def expire_session_keys(self, session_id: str, seconds: float) -> None:
        """Expire all of a session's live state after ``seconds`` (<= 0: now)."""
        ...

    async def aclose(self) -> None:
        """Stop background tasks and close connections. Safe to call twice."""
        ...


# ---------------------------------------------------------------------------------------------
# Shared subscription logic

ReadEntries = Callable[[int, int], Awaitable[list[LogEntry]]]
#: Takes a live event in the appender's own call (no task woken), or declines it (False,
#: with nothing done): the subscription then queues it for its iterator as before.
TakeLive = Callable[[Event], bool]


class Subscriber:
    """The fan-out side of one subscription: a bounded queue that never blocks the producer."""

    def __init__(self, session_id: str, after: int, epoch: str, maxsize: int) -> None:
        self.session_id = session_id
        self.after = after
        self.epoch = epoch
        # A list and a future made only while the iterator waits, not an asyncio.Queue (four
        # deques and an event, ~3.3 KB per open socket) nor a deque and an event: an empty
        # deque is 760 bytes and an event another deque, an empty list 56. An idle
        # socket's queue is empty, and a busy one's is short (its live path takes events
        # without queueing them): popping the front of at most ``maxsize`` (256) is cheap.
        self.queue: list[LogEntry] = []
        self._maxsize = maxsize
        self.lagged = False
        self.failure: Exception | None = None
        self._waiter: asyncio.Future[None] | None = None
        #: Set by :meth:`Subscription.deliver`: tried first, while nothing is queued; and
        #: dropped as the subscription ends (:meth:`detach`).
        self.take: Callable[[LogEntry], bool] | None = None

    def offer(self, entry: LogEntry) -> None:
        take = self.take
        if take is not None and not self.queue and take(entry):
            return
        if len(self.queue) < self._maxsize or self._maxsize <= 0:  # 0: unbounded, as a Queue
            self.queue.append(entry)
        else:
            self.lagged = True  # dropped; the consumer re-reads it from the log
        self._wake()

    def fail(self, failure: Exception) -> None:
        self.failure = failure
        self._wake()

    def detach(self) -> None:
        """Drop the taker: it and its :class:`Subscription` refer to each other (a cycle)."""
        self.take = None

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def next_entry(self) -> LogEntry | None:
        """The next queued entry, or None when woken for a failure or with nothing queued."""
        while not self.queue and self.failure is None:
            waiter = self._waiter
            if waiter is None or waiter.done():
                waiter = self._waiter = asyncio.get_running_loop().create_future()
            await waiter
        if not self.queue:
            return None
        return self.queue.pop(0)


class Subscription:
    """Iterates a :class:`Subscriber`, filling holes from the log: exactly seq after+1, +2...

    Live entries that arrive ahead of the cursor (registered mid-stream, or dropped by a
    full queue) switch it to catch-up reads; entries at or below the cursor are duplicates
    and skipped. Every handed-out entry is checked for continuity and epoch.
    """

    def __init__(self, subscriber: Subscriber, read_entries: ReadEntries) -> None:
        self._sub = subscriber
        self._read = read_entries
        self._last = subscriber.after
        #: Entries to hand out, the next one last (popped from the end: a list, 56 bytes
        #: empty where a deque is 760). It fills only when empty: a catch-up read's
        #: entries, or one live entry.
        self._pending: list[LogEntry] = []
        self._catching_up = True
        #: The iterator waits for a live entry with nothing buffered: the next one in
        #: order may go to the :meth:`deliver` taker instead.
        self._waiting = False

    @property
    def last_seq(self) -> int:
        return self._last

    @property
    def waiting(self) -> bool:
        """Whether the iterator waits for a live event: when the live path may take one."""
        return self._waiting

    def deliver(self, take: TakeLive) -> None:
        """Hand live events to ``take`` in the appender's call while the iterator is idle
        and caught up, instead of queueing each and waking the iterator's task (a task
        step and a future per event per socket: the fan-out's largest cost per frame).
        Whatever ``take`` declines, and everything while catching up, the iterator yields
        as before, in order. ``take`` must not block; should it raise, the iterator
        raises that error."""
        sub = self._sub

        def take_live(entry: LogEntry) -> bool:
            if not self._waiting or entry.seq != self._last + 1 or entry.epoch != sub.epoch:
                return False
            try:
                taken = take(entry.event)
            except Exception as failure:  # a bug of one subscriber: never the appender's
                sub.fail(failure)
                return True
            if taken:
                self._last = entry.seq
            return taken

        sub.take = take_live

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        sub = self._sub
        while True:
            if self._pending:
                entry = self._pending.pop()
                if entry.seq <= self._last:
                    continue
                return self._accept(entry)
            if sub.failure is not None:
                raise sub.failure
            if self._catching_up or (sub.lagged and not sub.queue):
                sub.lagged = False
                entries = await self._read(self._last, READ_BATCH)
                raise_if_cancelling()
                self._catching_up = len(entries) >= READ_BATCH
                if entries and entries[0].seq != self._last + 1:
                    raise LogGapError("trimmed", self._last)
                self._pending = entries[::-1]
                continue
            self._waiting = True
            try:
                live = await sub.next_entry()
            finally:
                self._waiting = False
            if live is None or live.seq <= self._last:
                continue
            if live.seq > self._last + 1:
                self._catching_up = True  # the log has everything up to this entry
                continue
            self._pending.append(live)

    def _accept(self, entry: LogEntry) -> Event:
        if entry.epoch != self._sub.epoch:
            raise LogGapError("epoch_changed", self._last)
        check_continuity(self._last + 1, entry.seq)
        self._last = entry.seq
        return entry.event  # frozen: shared by every local subscriber


def check_subscribe(info: LogInfo | None, after: int, epoch: str | None) -> LogInfo:
    """Entry checks of ``subscribe``, by the resume rules of :func:`decide_resume`.
    Raises LogMissing, or LogGapError for an ``after`` the log cannot continue from
    (``epoch_changed``, ``ahead``; ``trimmed`` shows up as the first read); ValueError if
    ``after`` < 0."""
    if info is None:
        raise LogMissing("session log does not exist")
    decision = decide_resume(after, epoch, info)
    if isinstance(decision, ResumeGap) and decision.reason != "trimmed":
        raise LogGapError(decision.reason, after)
    return info
