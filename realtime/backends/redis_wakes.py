"""Who reads a session's stream, so that an append wakes only the *other* readers.

A worker's stream reader used to block in ``XREAD`` on the session streams themselves,
so every append woke it, its own too, which it had already handed to its subscribers
(:meth:`StreamReader.appended`). At S=75 on one worker (``redis-1w``), three alternated
rounds: CPU per chunk 0.143, 0.144, 0.151 -> 0.136, 0.140, 0.140 ms, Redis's own CPU 12-13
-> 11-12% of a core.

Now each reader registers in each session it reads (``{prefix}:{sid}:readers``, a hash of
reader id -> expiry in ms by the Redis clock) and blocks on its own *wake stream* there
(``{prefix}:{sid}:wake:<reader id>``, at most one entry). The append script (``_append.lua``)
adds an entry to the wake stream of every registered reader but the appender, and drops
registrations that expired. A woken reader then reads the session stream itself. One
worker alone is never woken by its appends; two are woken by each other's only.

A registration lasts :data:`REGISTRATION_TTL` and is renewed every
:data:`REGISTRATION_RENEW`; a reader that lost it (Redis restarted, or its renewals failed
longer than that) still reads every session stream once per block timeout, so an event
is late by at most that, never lost.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from redis.commands.core import AsyncScript

from realtime.backends.base import LogEntry, Subscriber
from realtime.backends.redis_scripts import run_script
from realtime.backends.redis_wire import Arg, Wire

__all__ = [
    "REGISTRATION_RENEW",
    "REGISTRATION_TTL",
    "Feed",
    "log_of_wake",
    "readers_key",
    "register",
    "wake_key",
    "xread_command",
]

#: A registration lives this long unless renewed: the longest a dead worker is still woken
#: (one XADD per append), and how long a live one may fail to renew before being missed.
REGISTRATION_TTL = 30.0
#: Renewed this often (one script call per read session, pipelined per lane).
REGISTRATION_RENEW = 10.0
#: Own appends kept ahead of the cursor per stream at most; past it the stream is re-read.
EARLY_LIMIT = 500

_LOG_SUFFIX = "log"


def readers_key(stream: str) -> str:
    """A session's readers hash, beside its log stream ``{prefix}:{sid}:log``."""
    return stream[: -len(_LOG_SUFFIX)] + "readers"


def wake_key(stream: str, reader_id: str) -> str:
    """A reader's wake stream in a session (the append script spells it the same way)."""
    return f"{stream[: -len(_LOG_SUFFIX)]}wake:{reader_id}"


def log_of_wake(wake: str, reader_id: str) -> str:
    """The log stream beside ``wake``, ``reader_id``'s wake stream (see :func:`wake_key`)."""
    return wake[: -len(f"wake:{reader_id}")] + _LOG_SUFFIX


@dataclass
class Feed:
    """One session stream a lane reads, and the subscribers it hands entries to.

    ``cursor`` is the highest seq handed over; ``to_read`` says the session stream itself
    must be read (new, woken, or not read for a block timeout); ``early`` holds this
    worker's own appends that came back ahead of the cursor (another's entry lies between,
    or two of its own appends answered out of order on Cluster), handed over once the gap
    is filled."""

    session_id: str
    stream: str
    epoch: str
    cursor: int
    wake: str
    subscribers: set[Subscriber] = field(default_factory=set)
    wake_cursor: str = "0-0"
    to_read: bool = True
    renewed_at: float | None = None
    early: dict[int, LogEntry] = field(default_factory=dict)

    def offer(self, entry: LogEntry) -> None:
        self.cursor = entry.seq
        for sub in self.subscribers:
            sub.offer(entry)

    def own(self, entries: list[LogEntry]) -> bool:
        """This worker's own appends: handed over now when they follow the cursor, else
        kept. False when some are kept (the gap must be read if nothing fills it)."""
        fresh = [entry for entry in entries if entry.seq > self.cursor]
        if not fresh:
            return True
        if fresh[0].seq != self.cursor + 1:
            if len(self.early) + len(fresh) > EARLY_LIMIT:
                self.early.clear()  # the stream read brings them all
                self.to_read = True
                return False
            self.early.update((entry.seq, entry) for entry in fresh)
            return False
        for entry in fresh:
            self.offer(entry)
        self.release_early()
        return True

    def release_early(self) -> None:
        """Hand over kept own entries that now follow the cursor; drop those behind it."""
        early = self.early
        while early:
            entry = early.pop(self.cursor + 1, None)
            if entry is None:
                break
            self.offer(entry)
        for seq in [seq for seq in early if seq <= self.cursor]:
            del early[seq]


async def register(
    wire: Wire, script: AsyncScript, feeds: dict[str, Feed], reader_id: str, ttl_ms: int
) -> None:
    """Register or renew ``reader_id`` for ``ttl_ms`` in the sessions of ``feeds``, in one
    write on ``wire`` (a lane's own connection: its node owns them). Unregistering is one
    script call on its own (``Lane._unregister``). Raises redis-py's errors."""
    if not feeds:
        return
    answers = await asyncio.gather(
        *(
            run_script(wire, script, [readers_key(s), f.wake], [reader_id, ttl_ms])
            for s, f in feeds.items()
        ),
        return_exceptions=True,
    )
    failure = next((a for a in answers if isinstance(a, BaseException)), None)
    if failure is not None:
        raise failure


def xread_command(streams: dict[str, str], count: int, block_ms: int | None) -> list[Arg]:
    """``XREAD`` of ``streams`` (name -> last id seen), blocking ``block_ms`` if given."""
    blocking: list[Arg] = [] if block_ms is None else ["BLOCK", block_ms]
    return ["XREAD", "COUNT", count, *blocking, "STREAMS", *streams, *streams.values()]
