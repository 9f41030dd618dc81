"""One socket's life, independent of the web framework (a :class:`Transport` is enough).

Three tasks in one TaskGroup: the reader (client frames -> hub commands) runs in the
socket's own task, the TaskGroup's body; the pump (log events -> outbox) and the writer
(outbox -> socket) are its children. When any of them ends, the others are cancelled and
awaited. :meth:`Connection.revoke` cancels the writer, which ends the group with the
revocation's close code. Presence heartbeats and the watch for replies a dead worker left
open are the process's (:mod:`realtime.heartbeat`): a socket registers with it while open.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import assert_never

from realtime.backends.base import BackendUnavailable, LogMissing
from realtime.eventlog import LogGapError
from realtime.events import (
    UNAVAILABLE_MESSAGE,
    ClientStateEvent,
    ErrorEvent,
    Pong,
    ResumeFailed,
    SequencedEvent,
    StreamingReply,
    Welcome,
    error,
)
from realtime.follower import Follower
from realtime.frames import (
    ClientMessage,
    Direct,
    End,
    Pause,
    Ping,
    ProtocolError,
    Resume,
    Say,
    Stop,
    Whisper,
    parse_client_frame,
)
from realtime.lifecycle import SessionAction
from realtime.outbox import Outbox
from realtime.sessionlog import RECENT_EVENTS
from realtime.sessionview import SessionView
from realtime.socketparts import (
    Closing,
    PeerGone,
    Principal,
    RateWindow,
    SocketParts,
    Transport,
)
from realtime.vocabulary import CloseCode, ErrorCode, Role
from storage.models import Session

log = logging.getLogger(__name__)

__all__ = ["Connection", "PeerGone", "Principal", "RateWindow", "SocketParts", "Transport"]
# PeerGone, Principal, RateWindow, SocketParts and Transport live in realtime.socketparts;
# this module is the one import the socket glue needs.

_ACTIONS: dict[type[ClientMessage], SessionAction] = {
    Pause: SessionAction.PAUSE,
    Resume: SessionAction.RESUME,
    End: SessionAction.END,
}

#: How long an abuse close waits for the refusals queued before it to be sent.
ABUSE_FLUSH_SECONDS = 1.0
#: Pauses between attempts to follow the log again after the store failed (a Redis
#: restart takes ~1 s; the presence TTL, 30 s, is the horizon that matters).
RESUBSCRIBE_FIRST_PAUSE = 0.25
RESUBSCRIBE_MAX_PAUSE = 2.0


class Connection:
    # Thousands are open at once: no per-instance dict.
    __slots__ = (
        "_abuse",
        "_outbox",
        "_revoked",
        "_says",
        "_seen",
        "_writer",
        "after",
        "conn_id",
        "epoch",
        "parts",
        "principal",
        "transport",
    )

    def __init__(
        self,
        parts: SocketParts,
        transport: Transport,
        principal: Principal,
        after: int | None,
        epoch: str | None = None,
        *,
        live: bool = False,
    ) -> None:
        self.parts = parts
        self.transport = transport
        self.principal = principal
        self.after = after
        self.epoch = epoch
        self._seen = Follower(principal.role, live=live)
        self.conn_id = uuid.uuid4().hex
        config = parts.config
        self._outbox = Outbox(parts, transport.write_now)
        self._says = RateWindow(config.say_rate_count, config.say_rate_seconds)
        self._abuse = RateWindow(config.abuse_errors_per_minute, 60.0)
        #: How :meth:`revoke` asked this socket to close (the first ask wins).
        self._revoked: Closing | None = None
        #: The writer task while it runs: what :meth:`revoke` cancels.
        self._writer: asyncio.Task[None] | None = None

    # -- what the heartbeat reads (realtime.heartbeat.Member) ------------------------------

    @property
    def session_id(self) -> uuid.UUID:
        return self.principal.session_id

    @property
    def role(self) -> Role:
        return self.principal.role

    @property
    def live(self) -> bool:
        return self._seen.live

    def open_reply_since(self) -> float | None:
        return self._seen.open_reply_since()

    # -- life -----------------------------------------------------------------------------

    def revoke(self, code: int, reason: str) -> None:
        """End this socket with ``code``; idempotent, never blocks, safe before :meth:`run`
        (the writer then closes it as soon as it starts)."""
        if self._revoked is not None:
            return
        self._revoked = Closing(code, reason)
        self._outbox.seal()
        if self._writer is not None:
            self._writer.cancel()

    async def run(self) -> None:
        """Serve the socket until either side closes. Cancelling is safe."""
        parts, sid, role = self.parts, self.session_id, self.principal.role
        presence = await parts.presence.touch(sid, self.conn_id, role)
        parts.heartbeat.register(self, presence)
        parts.observer.socket_opened(role)
        code: int | None = None
        reason = ""
        try:
            await parts.presence.announce(sid, live=self._seen.live)
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._pump())
                tasks.create_task(self._writer_loop())
                await self._reader()
        except* Closing as closing:
            first = closing.exceptions[0]
            assert isinstance(first, Closing)
            code, reason = first.code, first.reason
        finally:
            parts.heartbeat.unregister(self)
            parts.observer.socket_closed(role)
            await parts.presence.leave(sid, self.conn_id, live=self._seen.live)
        if code is not None:
            await self.transport.close(code, reason)
        host = asyncio.current_task()
        if host is not None and host.cancelling():
            # Cancelled from outside (shutdown) as a Closing ended the group (a revocation
            # turns the writer's cancel into one): the group reported the Closing, so pass
            # the cancellation on.
            raise asyncio.CancelledError

    # -- tasks ----------------------------------------------------------------------------

    async def _reader(self) -> None:
        limits = self.parts.config.limits
        while True:
            raw = await self.transport.receive()
            if raw is None:
                raise Closing(None)
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
                # was acknowledged, so the client may simply send again. The server's
                # fault, not the client's: not counted towards closing it for abuse.
                log.exception("command %s failed on %s", message.type, self.session_id)
                await self._outbox.put(error(ErrorCode.UNAVAILABLE, UNAVAILABLE_MESSAGE))
                continue
            if answer is not None:
                await self._refuse(answer)

    async def _handle(self, message: ClientMessage) -> ErrorEvent | None:
        principal, hub = self.principal, self.parts.hub
        sid = principal.session_id
        match message:
            case Ping():
                await self._outbox.put(Pong(nonce=message.nonce))
                return None
            case Say():
                if principal.role is not Role.STUDENT:
                    return error(ErrorCode.FORBIDDEN, "Only the student speaks to the client.")
                if not self._says.allow(time.monotonic()):
                    return error(
                        ErrorCode.RATE_LIMITED, "You are sending too fast; wait a few seconds."
                    )
                return await hub.say(sid, message.text, message.client_id)
            case Whisper():
                if principal.role is not Role.TEACHER or principal.user_id is None:
                    return error(ErrorCode.FORBIDDEN, "Only the teacher can whisper.")
                return await hub.whisper(sid, principal.user_id, message.text)
            case Direct():
                if principal.role is not Role.TEACHER or principal.user_id is None:
                    return error(ErrorCode.FORBIDDEN, "Only the teacher can direct the client.")
                return await hub.direct(sid, principal.user_id, message.text)
            case Stop():
                return await hub.stop(sid, principal.role, message.reply_id)
            case Pause() | Resume() | End():
                return await hub.command(sid, _ACTIONS[type(message)], principal.actor)
            case _:
                assert_never(message)

    async def _refuse(self, event: ErrorEvent) -> None:
        await self._outbox.put(event)
        # `busy` is the server's load, not the client's fault: never counted as abuse.
        if event.code != ErrorCode.BUSY and not self._abuse.allow(time.monotonic()):
            # The refusals queued so far go out first, so the client sees why it is being
            # closed (a writer slowed by compression was closed after 1 of 20); bounded,
            # as an abusive client may have stopped reading.
            await self._outbox.flushed(ABUSE_FLUSH_SECONDS)
            raise Closing(CloseCode.ABUSE, "too many refused frames")

    async def _pump(self) -> None:
        try:
            self._seen.cursor = await self._start()
            pause = RESUBSCRIBE_FIRST_PAUSE
            while True:
                try:
                    await self._follow()
                    return  # the backend closed the subscription (shutting down)
                except BackendUnavailable:
                    # The store blipped (Redis restarting): follow again from the last
                    # event sent, the socket left open; a log that came back empty has
                    # a new epoch, and the resume then fails in the usual way.
                    log.warning("log subscription lost for %s; retrying", self.session_id)
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, RESUBSCRIBE_MAX_PAUSE)
                except LogMissing:
                    # Back empty, and no publish (a heartbeat's) reopened the log yet: this
                    # follow reopens it, and the resume rules above apply (CI saw the socket
                    # dropped without a close frame when the follow got there first).
                    await self.parts.log.ensure(self.session_id)
        except LogGapError as gap:
            await self._resume_failed(gap)

    async def _follow(self) -> None:
        """Send the log's events after the cursor as they come, moving the cursor: live
        ones straight into the outbox as they are logged (:meth:`_take_live`), the rest
        (catching up, or the outbox full) through this task."""
        seen = self._seen
        async with self.parts.log.subscribe(self.session_id, seen.cursor, self.epoch) as events:
            events.deliver(self._take_live)
            async for event in events:
                if (shown := seen.note(event)) is not None:
                    await self._outbox.put(shown)

    def _take_live(self, event: SequencedEvent) -> bool:
        outbox = self._outbox
        if outbox.full:
            return False  # the pump waits for room, and closes a client too slow
        if (shown := self._seen.note(event)) is not None:
            outbox.push(shown)
        return True

    async def _writer_loop(self) -> None:
        try:
            self._writer = asyncio.current_task()
            if self._revoked is not None:  # revoked before the writer started
                raise self._revoked
            outbox = self._outbox
            while True:
                # Outbox.get in two plain calls: once per frame of every socket, no
                # coroutine is made unless the writer must wait (then only the future).
                text = outbox.next_to_send()
                if text is None:
                    await outbox.changed()
                    continue
                try:
                    await self._send(text)
                finally:
                    outbox.sent()
        except asyncio.CancelledError:
            if self._revoked is not None:  # revoke() cancelled it: close with its code
                raise self._revoked from None
            raise
        finally:
            self._writer = None
            self._outbox.seal()  # nothing more goes out past a writer that has ended

    async def _send(self, text: str) -> None:
        try:
            await self.transport.send(text)
        except PeerGone:
            raise Closing(None) from None
        self.parts.observer.frame_sent()

    # -- start: welcome or resume ---------------------------------------------------------

    async def _start(self) -> int:
        """Queue what comes before live events; return the seq live events follow.

        A student connecting (typically reconnecting after their worker died) first
        closes replies a dead worker left open, so the next say is not held up by them."""
        log, sid = self.parts.log, self.session_id
        if self.principal.role is Role.STUDENT:
            # The log alone (not the worker's catch-up, which reads the transcript from SQL
            # on a worker's first look): a resume costs the handshake's one query.
            _, view = await log.view(sid, newest=RECENT_EVENTS)
            self._seen.view = view
            if view.open_replies:
                await log.repair(sid, self.parts.config.reply_lock_seconds)
        if self.after is not None:
            if self.epoch is None:
                self.epoch = (await log.ensure(sid)).epoch
            return self.after
        return await self._welcome()

    async def _welcome(self) -> int:
        """Queue ``welcome`` and the history up to the worker's view of the log (the cut:
        anything later comes live); return the cut."""
        parts, sid = self.parts, self.session_id
        # The worker's copy of the log and the row as of it (no SQL in the common case:
        # 1,000 observers joining one session cost one read of each, not 1,000).
        recent, session = await parts.hub.snapshot(sid)
        cut, history, view = recent.info.last_seq, recent.messages, recent.view
        self.epoch = recent.info.epoch  # the cut's (the log may have been reopened since)
        running = await parts.log.backend.current_reply(str(sid))
        reply = view.open_reply(running) if running is not None else None
        streaming = None if reply is None else StreamingReply(reply_id=running, text=reply.text)
        welcome = Welcome(
            session_id=str(sid),
            status=session.status,
            role=self.principal.role,
            budget=await parts.report.state(session),
            last_seq=cut,
            epoch=recent.info.epoch,
            presence=await parts.presence.current(sid),
            streaming=streaming,
            client_state=await self._client_state(session, view),
        )
        await self._outbox.put(welcome)
        for message in history:
            if message.seq <= cut:
                await self._outbox.put(message)
        return cut

    async def _client_state(self, session: Session, view: SessionView) -> ClientStateEvent | None:
        """For observers: the latest client state in the log, else the one the session
        starts from (a student never gets it)."""
        if self.principal.role is Role.STUDENT:
            return None
        return view.client_state or await self.parts.hub.starting_client_state(session)

    async def _resume_failed(self, gap: LogGapError) -> None:
        info = await self.parts.log.backend.log_info(str(self.session_id))
        await self._outbox.put(
            ResumeFailed(
                reason=gap.reason,
                after=gap.after,
                first_seq=info.first_seq if info else 1,
                last_seq=info.last_seq if info else 0,
                epoch=info.epoch if info else "",
                message="Your place in the conversation is gone; reload to continue.",
            )
        )
        await self._drain()
        raise Closing(CloseCode.RELOAD, "cannot resume; reconnect without after")

    async def _drain(self) -> None:
        while (text := self._outbox.take()) is not None:
            await self._send(text)
