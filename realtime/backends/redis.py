"""Redis backend: live session state shared by any number of workers.

Keys (all hash-tagged by session so each Lua script stays in one Cluster slot)::

    {prefix}:{sid}:meta      hash  epoch, seq (the counter)
    {prefix}:{sid}:log       stream of the live window, ids "<seq>-0", MAXLEN ~ window
    {prefix}:{sid}:durable   stream of durable events for the SQL flusher (trimmed by it)
    {prefix}:{sid}:reply     string reply lock (value reply_id, PX ttl)
    {prefix}:{sid}:stop      string stop flag (value reply_id)
    {prefix}:{sid}:pres:s    zset   student connections, score = expiry ms (Redis clock)
    {prefix}:{sid}:pres:o    zset   observer connections
    {prefix}:{sid}:claim:K   string idempotency claim (SET NX PX)
    {prefix}:{sid}:readers   hash   the workers reading the log: reader id -> expiry ms
    {prefix}:{sid}:wake:R    stream reader R's wake-ups: others appended (at most 1 entry)
    {prefix}:duty:NAME       string a deployment-wide duty's holder (PX ttl), no session

Entries carry ``e`` (the event JSON without seq) and ``x`` (the epoch). Every append is one
EVALSHA whatever the batch size, pipelined with the worker's other script calls (see
:mod:`realtime.backends.redis_scripts`). The durable stream is not capped by append: it
only holds messages, reply boundaries, status changes and budget warnings, which a
session's token and time budget bound to a few hundred, and the flusher trims it. Run Redis with
``maxmemory-policy noeviction``: an evicted meta key reads as a lost log (new epoch).
Failures: redis errors surface as BackendUnavailable (fail closed: no event is assumed
stored unless the script returned).

Redis Cluster (``redis+cluster://`` or ``rediss+cluster://`` URL, naming any node): the
command client is a ``RedisCluster``, which routes every command by its key's slot and
follows MOVED/ASK itself. Every command, script and MULTI pipeline here touches one
session, hence one slot. The calls on many sessions (the flusher's look at their durable
streams, ``read_durable_many``, and the reader's epoch lookup), all sent at once on a
standalone Redis, are one command per session there (see
:mod:`realtime.backends.redis_many`). The stream reader runs one
blocking XREAD per slot (see :mod:`realtime.backends.redis_reader`), woken only by
other processes' appends (:mod:`realtime.backends.redis_wakes`).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from realtime.backends.base import (
    DEFAULT_IDLE_TTL,
    DEFAULT_SUBSCRIBER_QUEUE,
    DEFAULT_WINDOW,
    READ_BATCH,
    Event,
    LogEntry,
    SayClaim,
    SayOpening,
    Subscriber,
    Subscription,
    check_subscribe,
    field_pairs,
    stamped_entry,
    stream_entry,
)
from realtime.backends.redis_errors import translate
from realtime.backends.redis_many import hget_many
from realtime.backends.redis_pool import redis_client
from realtime.backends.redis_reader import BLOCK_MS, GATHER_SECONDS, StreamReader
from realtime.backends.redis_scripts import Scripts, scripts_for
from realtime.eventlog import LogInfo
from realtime.events import Presence, ReplyStop, payload_json, stamped_json
from realtime.vocabulary import Role

_SESSION_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


def _lua(*names: str) -> str:
    pkg = resources.files("realtime.backends")
    return "\n".join(pkg.joinpath(f"{name}.lua").read_text("utf-8") for name in names)


def _script_events(rows: Any) -> list[Event]:
    """The events of a script's raw ``XRANGE`` answer (entries ``[id, [field, value, ...]]``)."""
    return [stream_entry(entry_id, field_pairs(fields)).event for entry_id, fields in rows]


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


class RedisBackend:
    """See :class:`realtime.backends.base.RealtimeBackend` for the contract."""

    def __init__(
        self,
        url: str,
        *,
        key_prefix: str = "vc",
        window: int = DEFAULT_WINDOW,
        idle_ttl: float = DEFAULT_IDLE_TTL,
        subscriber_queue: int = DEFAULT_SUBSCRIBER_QUEUE,
        read_gather: float = GATHER_SECONDS,
        read_block_ms: int = BLOCK_MS,
        known: Callable[[Event, str], None] | None = None,
    ) -> None:
        """``known``: told each event this process appends and hands to subscribers here
        (its seq set) with its :func:`realtime.events.encode` text, made from the stored
        JSON: a serving process passes its frame cache's, so an event is encoded once."""
        if window < 1 or "{" in key_prefix or "}" in key_prefix:
            raise ValueError("window must be >= 1 and key_prefix free of braces")
        self._prefix = key_prefix
        self._window = window
        self._idle_ms = _ms(idle_ttl)
        self._queue_size = subscriber_queue
        self._known = known
        self._redis = redis_client(url, decode_responses=True)
        self._scripts: Scripts = scripts_for(self._redis)
        self._append = self._redis.register_script(_lua("_now", "_append", "append"))
        self._stop = self._redis.register_script(_lua("_now", "_append", "stop"))
        self._open = self._redis.register_script(_lua("open"))
        self._info = self._redis.register_script(_lua("_info", "info"))
        self._since = self._redis.register_script(_lua("_info", "_since", "since"))
        self._release = self._redis.register_script(_lua("release"))
        self._refresh = self._redis.register_script(_lua("refresh"))
        self._presence = self._redis.register_script(_lua("_now", "presence"))
        self._claim = self._redis.register_script(_lua("_claim", "claim"))
        self._duty = self._redis.register_script(_lua("duty"))
        self._say = self._redis.register_script(_lua("_info", "_since", "_claim", "say"))
        self._durable = self._redis.register_script(_lua("durable"))
        self._trim = self._redis.register_script(_lua("trim"))
        #: This process's id as a reader of session logs: its own appends do not wake it.
        self._reader_id = secrets.token_hex(8)
        self._reader = StreamReader(
            url,
            self._redis,
            self._current_epochs,
            reader_id=self._reader_id,
            registrar=self._redis.register_script(_lua("_now", "readers")),
            gather=read_gather,
            block_ms=read_block_ms,
        )

    @property
    def reader(self) -> StreamReader:
        """The worker's shared stream reader (introspection for tests and metrics)."""
        return self._reader

    def _key(self, session_id: str, name: str) -> str:
        if not _SESSION_ID.fullmatch(session_id):
            raise ValueError(f"invalid session id {session_id[:40]!r}")
        return f"{self._prefix}:{{{session_id}}}:{name}"

    def _log_keys(self, session_id: str) -> list[str]:
        return [self._key(session_id, n) for n in ("meta", "log", "durable")]

    def _append_keys(self, session_id: str) -> list[str]:
        # Checked and formatted once for the four: 1.9 -> 0.5% of the samples at S=100.
        base = self._key(session_id, "")
        return [base + "meta", base + "log", base + "durable", base + "readers"]

    # -- log ------------------------------------------------------------------------------

    async def open_log(self, session_id: str, floor_seq: int) -> LogInfo:
        if floor_seq < 0:
            raise ValueError("floor_seq must be >= 0")
        with translate():
            epoch, last, first, _created = await self._scripts.run(
                self._open,
                self._log_keys(session_id),
                [floor_seq, secrets.token_hex(8), self._idle_ms],
            )
        return LogInfo(str(epoch), int(last), int(first))

    async def log_info(self, session_id: str) -> LogInfo | None:
        with translate():
            found = await self._scripts.run(self._info, self._log_keys(session_id)[:2], [])
        if not found:
            return None
        epoch, last, first = found
        return LogInfo(str(epoch), int(last), int(first))

    async def log_since(
        self, session_id: str, after: int, limit: int
    ) -> tuple[LogInfo, list[Event]] | None:
        with translate():
            keys = self._log_keys(session_id)[:2]
            found = await self._scripts.run(self._since, keys, [after, limit])
        return None if not found else self._since_answer(found)

    @staticmethod
    def _since_answer(found: Any) -> tuple[LogInfo, list[Event]]:
        (epoch, last, first), rows = found
        return LogInfo(str(epoch), int(last), int(first)), _script_events(rows)

    async def _current_epochs(self, session_ids: list[str]) -> list[str | None]:
        keys = [self._key(session_id, "meta") for session_id in session_ids]
        found = await hget_many(self._redis, keys, "epoch")
        return [None if epoch is None else str(epoch) for epoch in found]

    async def append(self, session_id: str, events: Sequence[Event]) -> list[int]:
        keys = self._append_keys(session_id)
        if not events:
            return []
        stored = [payload_json(event) for event in events]
        args: list[str | int] = [self._window, self._idle_ms, self._reader_id, len(events)]
        for event, text in zip(events, stored, strict=True):
            args += [text, "1" if event.durable else "0"]
        with translate():
            first, epoch = await self._scripts.run(self._append, keys, args)
        first, epoch = int(first), str(epoch)
        self._reader.appended(keys[1], epoch, lambda: self._stamped(epoch, first, events, stored))
        return list(range(first, first + len(events)))

    def _stamped(
        self, epoch: str, first: int, events: Sequence[Event], stored: Sequence[str]
    ) -> list[LogEntry]:
        entries = [stamped_entry(seq, epoch, event) for seq, event in enumerate(events, first)]
        if self._known is not None:
            for entry, text in zip(entries, stored, strict=True):
                self._known(entry.event, stamped_json(text, entry.seq))
        return entries

    async def _xrange(self, key: str, after: int, limit: int) -> list[LogEntry]:
        with translate():
            rows: Any = await self._redis.xrange(key, min=f"{after + 1}-0", max="+", count=limit)
        return [stream_entry(entry_id, fields) for entry_id, fields in rows]  # (id, {f: v})

    async def read(self, session_id: str, after: int, limit: int) -> list[Event]:
        entries = await self._xrange(self._key(session_id, "log"), after, limit)
        return [entry.event for entry in entries]

    @asynccontextmanager
    async def subscribe(
        self, session_id: str, after: int, epoch: str | None = None
    ) -> AsyncIterator[Subscription]:
        info = check_subscribe(await self.log_info(session_id), after, epoch)
        stream = self._key(session_id, "log")
        sub = Subscriber(session_id, after, info.epoch, self._queue_size)
        try:
            await self._reader.add(stream, sub, info.last_seq)
            yield Subscription(sub, lambda a, n: self._xrange(stream, a, n))
        finally:
            sub.detach()
            await self._reader.remove(stream, sub)

    async def read_durable(self, session_id: str, after: int, limit: int) -> list[Event]:
        entries = await self._xrange(self._key(session_id, "durable"), after, limit)
        return [entry.event for entry in entries]

    async def read_durable_many(self, session_ids: Sequence[str], limit: int) -> list[list[Event]]:
        calls = [([self._key(session_id, "durable")], (limit,)) for session_id in session_ids]
        with translate():
            answers = await self._scripts.run_many(self._durable, calls)
        return [_script_events(rows) for rows in answers]

    async def trim_durable(self, upto: Mapping[str, int]) -> None:
        calls = [([self._key(sid, "durable")], (f"{seq + 1}-0",)) for sid, seq in upto.items()]
        with translate():
            await self._scripts.run_many(self._trim, calls)

    # -- claims and the reply lock --------------------------------------------------------------

    async def claim_once(self, session_id: str, key: str, ttl: float) -> bool:
        with translate():
            won = await self._redis.set(
                self._key(session_id, f"claim:{key}"), "", nx=True, px=_ms(ttl)
            )
        return bool(won)

    async def record_claim(self, session_id: str, key: str, value: str) -> None:
        with translate():
            await self._redis.set(
                self._key(session_id, f"claim:{key}"), value, xx=True, keepttl=True
            )

    async def claim(self, session_id: str, key: str, ttl: float) -> str | None:
        # A script, not SET NX GET: that pair needs Redis 7.0.
        with translate():
            recorded = await self._scripts.run(
                self._claim, [self._key(session_id, f"claim:{key}")], [_ms(ttl)]
            )
        return None if recorded is None else str(recorded)

    def _reply_keys(self, session_id: str) -> list[str]:
        return [self._key(session_id, "reply"), self._key(session_id, "stop")]

    async def acquire_reply(self, session_id: str, reply_id: str, ttl: float) -> bool:
        with translate():
            won = await self._redis.set(
                self._key(session_id, "reply"), reply_id, nx=True, px=_ms(ttl)
            )
        return bool(won)

    async def open_say(
        self, session_id: str, reply_id: str, ttl: float, after: int, claim: SayClaim
    ) -> SayOpening:
        meta, log, _ = self._log_keys(session_id)
        keys = [
            meta,
            log,
            self._key(session_id, "reply"),
            self._key(session_id, f"claim:{claim.key}"),
        ]
        args: list[str | int] = [reply_id, _ms(ttl), after, READ_BATCH, _ms(claim.ttl)]
        with translate():
            taken, found, recorded = await self._scripts.run(self._say, keys, args)
        return SayOpening(
            bool(taken),
            None if not found else self._since_answer(found),
            None if recorded is None else str(recorded),
        )

    async def refresh_reply(self, session_id: str, reply_id: str, ttl: float) -> bool:
        with translate():
            args: list[str | int] = [reply_id, _ms(ttl)]
            done = await self._scripts.run(self._refresh, self._reply_keys(session_id), args)
        return bool(done)

    async def release_reply(self, session_id: str, reply_id: str) -> bool:
        with translate():
            done = await self._scripts.run(self._release, self._reply_keys(session_id), [reply_id])
        return bool(done)

    async def hold_duty(self, duty: str, holder: str, ttl: float) -> bool:
        with translate():
            held = await self._duty(keys=[f"{self._prefix}:duty:{duty}"], args=[holder, _ms(ttl)])
        return bool(held)

    async def release_duty(self, duty: str, holder: str) -> None:
        with translate():
            await self._duty(keys=[f"{self._prefix}:duty:{duty}"], args=[holder, 0])

    async def current_reply(self, session_id: str) -> str | None:
        with translate():
            owner = await self._redis.get(self._key(session_id, "reply"))
        return None if owner is None else str(owner)

    async def request_stop(self, session_id: str, reply_id: str, event: ReplyStop) -> int | None:
        flag = "1" if event.durable else "0"
        text = payload_json(event)
        args: list[str | int] = [self._window, self._idle_ms, self._reader_id, reply_id, text, flag]
        keys = self._append_keys(session_id) + self._reply_keys(session_id)
        with translate():
            stored = await self._scripts.run(self._stop, keys, args)
        if not stored:
            return None
        seq, epoch = int(stored[0]), str(stored[1])
        self._reader.appended(keys[1], epoch, lambda: self._stamped(epoch, seq, [event], [text]))
        return seq

    async def stop_requested(self, session_id: str, reply_id: str) -> bool:
        with translate():
            owner, stop = await self._redis.mget(self._reply_keys(session_id))
        return owner == reply_id and stop == reply_id

    # -- presence -------------------------------------------------------------------------------

    async def _presence_op(
        self, session_id: str, op: str, conn_id: str = "", student: bool = False, ttl: float = 0
    ) -> Presence:
        keys = [self._key(session_id, "pres:s"), self._key(session_id, "pres:o")]
        with translate():
            students, observers = await self._scripts.run(
                self._presence, keys, [op, conn_id, "1" if student else "0", _ms(ttl)]
            )
        return Presence(student_online=int(students) > 0, observers=int(observers))

    async def presence_touch(
        self, session_id: str, conn_id: str, role: Role, ttl: float
    ) -> Presence:
        return await self._presence_op(session_id, "touch", conn_id, role is Role.STUDENT, ttl)

    async def presence_leave(self, session_id: str, conn_id: str) -> Presence:
        return await self._presence_op(session_id, "leave", conn_id)

    async def presence(self, session_id: str) -> Presence:
        return await self._presence_op(session_id, "get")

    # -- lifetime -------------------------------------------------------------------------------

    async def expire_session_keys(self, session_id: str, seconds: float) -> None:
        names = ("meta", "log", "durable", "reply", "stop", "pres:s", "pres:o", "readers")
        keys = [self._key(session_id, name) for name in names]
        with translate():
            readers: list[Any] = await self._redis.hkeys(keys[-1])
            keys += [self._key(session_id, f"wake:{reader}") for reader in readers]
            if seconds <= 0:
                await self._redis.delete(*keys)
                return
            async with self._redis.pipeline(transaction=True) as pipe:
                for key in keys:
                    pipe.pexpire(key, _ms(seconds))
                await pipe.execute()

    @property
    def scripts(self) -> Scripts:
        """How this worker's script calls reach Redis (introspection for tests)."""
        return self._scripts

    async def aclose(self) -> None:
        await self._scripts.aclose()
        await self._reader.aclose()
        await self._redis.aclose()
