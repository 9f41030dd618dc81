"""One socket's life, independent of the web framework (a :class:`Transport` is enough).

Four tasks in one TaskGroup: the reader (client frames -> hub commands), the pump (log
events -> this socket's bounded outbox), the writer (outbox -> socket) and the
heartbeat (presence). When any of them ends, the others are cancelled and awaited.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from realtime.eventlog import LogGapError, LogInfo
from realtime.hub import Hub, error
from realtime.lifecycle import SessionAction
from realtime.protocol import (
    End,
    ErrorEvent,
    Pause,
    Ping,
    Pong,
    Presence,
    ProtocolError,
    Resume,
    ResumeFailed,
    Role,
    Say,
    ServerModel,
    Stop,
    StreamingReply,
    Welcome,
    Whisper,
    encode,
    parse_client_frame,
)
from realtime.transcript import load_messages

log = logging.getLogger(__name__)

# Close codes (docs/protocol.md).
CLOSE_ABUSE = 1008
CLOSE_RESTART = 1012
CLOSE_TOO_SLOW = 4008
CLOSE_RELOAD = 4009


class Transport(Protocol):
    async def send(self, text: str) -> None: ...

    async def receive(self) -> str | bytes | None:
        """The next frame, or None once the peer has gone."""
        ...

    async def close(self, code: int, reason: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Principal:
    role: Role
    session_id: uuid.UUID
    user_id: uuid.UUID | None = None  # the teacher, for observers

    @property
    def actor(self) -> str:
        return "student" if self.role is Role.STUDENT else f"teacher:{self.user_id}"


class RateWindow:
    """At most ``count`` events per ``seconds`` (sliding window). Pure; injected time."""

    def __init__(self, count: int, seconds: float) -> None:
        self._count = count
        self._seconds = seconds
        self._times: deque[float] = deque()

    def allow(self, now: float) -> bool:
        while self._times and self._times[0] <= now - self._seconds:
            self._times.popleft()
        if len(self._times) >= self._count:
            return False
        self._times.append(now)
        return True


class _Closing(Exception):
    """Ends the connection's TaskGroup with a close code for the socket."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Connection:
    def __init__(
        self,
        hub: Hub,
        transport: Transport,
        principal: Principal,
        after: int | None,
        epoch: str | None = None,
    ) -> None:
        self.hub = hub
        self.transport = transport
        self.principal = principal
        self.after = after
        self.epoch = epoch
        self.conn_id = uuid.uuid4().hex
        config = hub.config
        self._outbox: asyncio.Queue[str] = asyncio.Queue(config.send_queue_frames)
        self._says = RateWindow(config.say_rate_count, config.say_rate_seconds)
        self._abuse = RateWindow(config.abuse_errors_per_minute, 60.0)
        self._presence: Presence | None = None

    @property
    def _sid(self) -> str:
        return str(self.principal.session_id)

    async def run(self) -> None:
        """Serve the socket until either side closes. Cancelling is safe."""
        code: int | None = None
        reason = ""
        await self._touch_presence(announce=True)
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._reader())
                tasks.create_task(self._pump())
                tasks.create_task(self._writer())
                tasks.create_task(self._heartbeat())
        except* _Closing as closing:
            first = closing.exceptions[0]
            assert isinstance(first, _Closing)
            code, reason = first.code, first.reason
        finally:
            await self._leave()
        if code is not None:
            await self.transport.close(code, reason)

    # -- tasks ----------------------------------------------------------------------------

    async def _reader(self) -> None:
        limits = self.hub.config.limits
        while True:
            raw = await self.transport.receive()
            if raw is None:
                raise _Closing(None)
            message = parse_client_frame(raw, limits)
            if isinstance(message, ProtocolError):
                await self._refuse(message.to_event())
                continue
            try:
                answer = await self._handle(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                # A database or Redis blip: tell the sender, keep the socket; nothing
                # was acknowledged, so the client may simply send again.
                log.exception("command %s failed on %s", message.type, self._sid)
                answer = error("unavailable", "The server could not do that just now; try again.")
            if answer is not None:
                await self._refuse(answer)

    async def _handle(
        self, message: Say | Stop | Pause | Resume | End | Whisper | Ping
    ) -> ErrorEvent | None:
        principal, hub = self.principal, self.hub
        sid = principal.session_id
        if isinstance(message, Ping):
            await self._queue(Pong(nonce=message.nonce))
            return None
        if isinstance(message, Say):
            if principal.role is not Role.STUDENT:
                return error("forbidden", "Only the student speaks to the client.")
            if not self._says.allow(time.monotonic()):
                return error("rate_limited", "You are sending too fast; wait a few seconds.")
            return await hub.say(sid, message.text, message.client_id)
        if isinstance(message, Whisper):
            if principal.role is not Role.TEACHER or principal.user_id is None:
                return error("forbidden", "Only the teacher can whisper.")
            return await hub.whisper(sid, principal.user_id, message.text)
        if isinstance(message, Stop):
            return await hub.stop(sid, principal.role)
        actions = {Pause: SessionAction.PAUSE, Resume: SessionAction.RESUME, End: SessionAction.END}
        return await hub.command(sid, actions[type(message)], principal.actor)

    async def _refuse(self, event: ErrorEvent) -> None:
        await self._queue(event)
        if not self._abuse.allow(time.monotonic()):
            raise _Closing(CLOSE_ABUSE, "too many refused frames")

    async def _pump(self) -> None:
        try:
            after = await self._start()
            async with self.hub.backend.subscribe(self._sid, after, self.epoch) as events:
                async for event in events:
                    await self._queue_raw(event)
        except LogGapError as gap:
            await self._resume_failed(gap)

    async def _writer(self) -> None:
        while True:
            text = await self._outbox.get()
            await self.transport.send(text)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.hub.config.heartbeat_seconds)
            await self._touch_presence(announce=False)

    # -- start: welcome or resume ---------------------------------------------------------

    async def _start(self) -> int:
        """Queue what comes before live events; return the seq live events follow."""
        info = await self.hub.ensure_log(self.principal.session_id)
        if self.after is not None:
            if self.epoch is None:
                self.epoch = info.epoch
            return self.after
        self.epoch = info.epoch
        await self._welcome(info)
        return info.last_seq

    async def _welcome(self, info: LogInfo) -> None:
        hub, sid = self.hub, self.principal.session_id
        session = await hub.load(sid)
        # Durable log first, then SQL (inside load_messages), so a concurrent flush
        # cannot hide a message; anything above last_seq comes live instead.
        history = await load_messages(hub.db, hub.backend, sid)
        messages = [m for m in history if m.seq <= info.last_seq]
        welcome = Welcome(
            session_id=str(sid),
            status=session.status,
            role=self.principal.role,
            budget=await hub.budget_state(session),
            last_seq=info.last_seq,
            epoch=info.epoch,
            presence=await hub.backend.presence(self._sid),
            streaming=await self._streaming(info),
        )
        await self._queue(welcome)
        for message in messages:
            await self._queue(message)

    async def _streaming(self, info: LogInfo) -> StreamingReply | None:
        """The reply being generated right now and its text so far (up to last_seq)."""
        reply_id = await self.hub.backend.current_reply(self._sid)
        if reply_id is None:
            return None
        text: list[str] = []
        after = max(info.first_seq - 1, 0)
        while after < info.last_seq:
            events = await self.hub.backend.read(self._sid, after, 500)
            if not events:
                break
            for event in events:
                if event["seq"] > info.last_seq:
                    break
                if event.get("reply_id") == reply_id and event.get("type") == "reply.delta":
                    text.append(event["text"])
            after = int(events[-1]["seq"])
        return StreamingReply(reply_id=reply_id, text="".join(text))

    async def _resume_failed(self, gap: LogGapError) -> None:
        info = await self.hub.backend.log_info(self._sid)
        last = info.last_seq if info else 0
        await self._queue(
            ResumeFailed(
                reason=gap.reason,
                after=gap.after,
                first_seq=info.first_seq if info else 1,
                last_seq=last,
                epoch=info.epoch if info else "",
                message="Your place in the conversation is gone; reload to continue.",
            )
        )
        await self._drain()
        raise _Closing(CLOSE_RELOAD, "cannot resume; reconnect without after")

    # -- outbox ---------------------------------------------------------------------------

    async def _queue(self, event: ServerModel) -> None:
        await self._put(encode(event))

    async def _queue_raw(self, event: dict[str, object]) -> None:
        await self._put(json.dumps(event, separators=(",", ":")))

    async def _put(self, text: str) -> None:
        """Queue a frame. A full outbox makes this socket's pump wait (others are never
        held up: each socket reads the log on its own); one that stays full for
        ``slow_consumer_seconds`` belongs to a client too slow to serve, closed with 4008
        so it can resume with ``after``."""
        try:
            self._outbox.put_nowait(text)
            return
        except asyncio.QueueFull:
            pass
        try:
            async with asyncio.timeout(self.hub.config.slow_consumer_seconds):
                await self._outbox.put(text)
        except TimeoutError:
            raise _Closing(CLOSE_TOO_SLOW, "too slow; reconnect with after") from None

    async def _drain(self) -> None:
        while not self._outbox.empty():
            await self.transport.send(self._outbox.get_nowait())

    # -- presence -------------------------------------------------------------------------

    async def _touch_presence(self, *, announce: bool) -> None:
        """Refresh this socket's presence; publish a ``presence`` event when the counts
        differ from the last heartbeat's (e.g. a killed worker's sockets lapsed)."""
        config = self.hub.config
        now = await self.hub.backend.presence_touch(
            self._sid, self.conn_id, self.principal.role, config.presence_ttl_seconds
        )
        if announce or now != self._presence:
            await self._announce()
        self._presence = now

    async def _announce(self) -> None:
        """Best effort: presence is advisory, so a store blip must not end the socket."""
        session_id = self.principal.session_id
        try:
            await self.hub.announce_presence(session_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("presence announcement failed for %s", session_id, exc_info=True)

    async def _leave(self) -> None:
        try:
            await self.hub.backend.presence_leave(self._sid, self.conn_id)
            await self._announce()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("presence cleanup failed for %s", self._sid, exc_info=True)
