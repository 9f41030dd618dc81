"""The hub: one per process. Turns socket commands into log events and replies.

Everything shared between workers goes through the backend (log, locks, presence) and
the budget store; the hub itself only owns this process's reply tasks. Commands answer
``None`` when accepted (their effect arrives as log events) or an ``ErrorEvent`` for the
sender alone.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Literal, TypeVar

from llm.base import Provider, ReplyRequest, Turn
from llm.window import estimate_request_tokens, prepare
from realtime.backends import LogMissing, RealtimeBackend
from realtime.budgets import BudgetStore, Refused
from realtime.config import RealtimeConfig
from realtime.control import BUDGET_ACTOR, SessionControl, clock_of
from realtime.conversation import ReplyJob, run_reply
from realtime.eventlog import LogInfo
from realtime.lifecycle import (
    IllegalTransition,
    SessionAction,
    SessionStatus,
)
from realtime.protocol import (
    BudgetEvent,
    BudgetState,
    ErrorEvent,
    MessageEvent,
    MessageRole,
    PresenceEvent,
    ReplyError,
    ReplyStart,
    ReplyStop,
    Role,
    ServerModel,
    StatusEvent,
    payload,
)
from realtime.quota import CAP_MESSAGE, over_cap
from realtime.transcript import load_messages, persona_of, turns, unfinished_replies
from storage.db import Database
from storage.errors import Conflict
from storage.models import Session
from storage.repos import profiles as profile_repo
from storage.repos import sessions as session_repo
from storage.repos import transcripts as transcript_repo

log = logging.getLogger(__name__)
T = TypeVar("T")

# How far back a say looks for what a killed worker left behind (an open reply, a
# message appended but not recorded): a crash leaves it at the end of the log, so the
# newest few hundred events suffice.
RECENT_SCAN_EVENTS = 300


def error(code: str, message: str) -> ErrorEvent:
    return ErrorEvent(code=code, message=message)


class Hub:
    def __init__(
        self,
        *,
        db: Database,
        backend: RealtimeBackend,
        budgets: BudgetStore,
        provider: Provider,
        control: SessionControl,
        config: RealtimeConfig,
    ) -> None:
        self.db = db
        self.backend = backend
        self.budgets = budgets
        self.provider = provider
        self.control = control
        self.config = config
        self._replies: set[asyncio.Task[None]] = set()
        self._closing = False
        control.before_terminal.append(self._before_terminal)
        control.after_transition.append(self._after_transition)

    # -- lifetime -------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Cancel this process's running replies and wait for them to record their end."""
        self._closing = True
        tasks = list(self._replies)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # -- the log --------------------------------------------------------------------------

    async def ensure_log(self, session_id: uuid.UUID) -> LogInfo:
        """Open the session's live log, continuing the seq after what SQL already holds."""
        info = await self.backend.log_info(str(session_id))
        if info is not None:
            return info
        async with self.db.session() as s:
            floor = await transcript_repo.max_seq(s, session_id)
        return await self.backend.open_log(str(session_id), floor)

    async def _on_log(self, session_id: uuid.UUID, call: Callable[[], Awaitable[T]]) -> T:
        """Run a log write; if the live log is gone (expired, Redis lost it), reopen it
        above what SQL holds and run it once more."""
        try:
            return await call()
        except LogMissing:
            await self.ensure_log(session_id)
            return await call()

    async def publish(self, session_id: uuid.UUID, events: Sequence[ServerModel]) -> list[int]:
        """Append ``events`` in one round trip; returns their seqs."""
        payloads = [payload(event) for event in events]
        return await self._on_log(
            session_id, lambda: self.backend.append(str(session_id), payloads)
        )

    # -- reads ----------------------------------------------------------------------------

    async def load(self, session_id: uuid.UUID) -> Session:
        async with self.db.session() as s:
            return await session_repo.get_session_unscoped(s, session_id)

    @staticmethod
    def seconds_left(session: Session) -> float:
        """Active time left now, as every event and snapshot reports it (0.1 s)."""
        return round(clock_of(session).seconds_left(datetime.now(UTC)), 1)

    async def budget_state(self, session: Session) -> BudgetState:
        snapshot = await self._budget_snapshot(session)
        return BudgetState(
            tokens_used=snapshot[0],
            token_budget=snapshot[1],
            seconds_left=self.seconds_left(session),
        )

    async def _budget_snapshot(self, session: Session) -> tuple[int, int]:
        await self.budgets.ensure(str(session.id), session.token_budget, session.tokens_used)
        snap = await self.budgets.snapshot(str(session.id))
        return snap.used, snap.budget

    async def budget_event(
        self, session: Session, warning: Literal["tokens_low", "time_low"] | None = None
    ) -> BudgetEvent:
        state = await self.budget_state(session)
        return BudgetEvent(
            tokens_used=state.tokens_used,
            token_budget=state.token_budget,
            seconds_left=state.seconds_left,
            warning=warning,
        )

    async def time_warning(self, session: Session, percent: int) -> None:
        """Publish the time warning for ``percent`` once per session, whichever watchdog
        (or how many) notices first."""
        # Longer than any session: the claim must not lapse and let the warning repeat.
        once = await self.backend.claim_once(str(session.id), f"warn:time:{percent}", 86_400)
        if once:
            tick = await self.budget_event(session)
            await self.publish(
                session.id, [tick.model_copy(update={"warning": "time_low", "percent": percent})]
            )

    # -- commands -------------------------------------------------------------------------

    async def say(self, session_id: uuid.UUID, text: str, client_id: str) -> ErrorEvent | None:
        """Store the student's message once per ``client_id`` and start the reply.

        One reply at a time: a say while a reply streams is refused (``reply_in_progress``)
        and nothing is stored, so the client keeps the text and may send it again."""
        session = await self.load(session_id)
        if session.status != SessionStatus.ACTIVE:
            return error("not_active", f"The session is {session.status}; you cannot send now.")
        cap = self.config.teacher_monthly_token_cap
        if await over_cap(self.db, session.owner_id, cap, datetime.now(UTC)):
            return error("monthly_cap_reached", CAP_MESSAGE)
        sid = str(session_id)
        reply_id = uuid.uuid4().hex
        if not await self.backend.acquire_reply(sid, reply_id, self.config.reply_lock_seconds):
            return error(
                "reply_in_progress",
                "The client is still answering. Wait for the reply (or press Stop) first.",
            )
        started = False
        try:
            recent = await self._recent_events(session_id)
            if await self._already_said(sid, client_id, recent):
                return None  # a retry of a message already stored: nothing to do
            await self._close_orphans(session_id, recent)
            job_or_error = await self._prepare_reply(session, reply_id, text)
            if isinstance(job_or_error, ErrorEvent):
                return job_or_error
            job = job_or_error
            message_id = str(uuid.uuid4())
            seqs = await self.publish(
                session_id,
                [
                    MessageEvent(
                        message_id=message_id,
                        role=MessageRole.STUDENT,
                        text=text,
                        client_id=client_id,
                    ),
                    ReplyStart(reply_id=reply_id),
                ],
            )
            await self.backend.record_claim(sid, f"say:{client_id}", f"{seqs[0]}:{message_id}")
            job.start_seq = seqs[1]
            await self._touch_activity(session_id)
            self._spawn(job)
            started = True
            return None
        finally:
            if not started:
                await self.backend.release_reply(sid, reply_id)

    async def _recent_events(self, session_id: uuid.UUID) -> list[dict[str, object]]:
        info = await self.ensure_log(session_id)
        start = max(info.last_seq - RECENT_SCAN_EVENTS, info.first_seq - 1, 0)
        return await self.backend.read(str(session_id), start, RECENT_SCAN_EVENTS)

    async def _already_said(
        self, sid: str, client_id: str, recent: list[dict[str, object]]
    ) -> bool:
        """Whether a say with ``client_id`` was stored before. Runs under the reply lock,
        so no other say of this session is in flight: a claim without a recorded result
        means an earlier attempt died, either before its append (say it now) or right
        after it (the message is in the recent log: record it, say nothing)."""
        key = f"say:{client_id}"
        recorded = await self.backend.claim_value(sid, key)
        if recorded:
            return True
        if recorded is None:
            await self.backend.claim_once(sid, key, self.config.say_dedupe_seconds)
            return False
        for event in recent:
            if event.get("type") == "message" and event.get("client_id") == client_id:
                await self.backend.record_claim(sid, key, f"{event['seq']}:{event['message_id']}")
                return True
        return False

    async def _close_orphans(self, session_id: uuid.UUID, events: list[dict[str, object]]) -> None:
        """End replies a killed worker left open (we hold the reply lock, so none is
        running): a ``reply.error`` keeps their partial text as a failed message."""
        orphans = unfinished_replies(events)
        if orphans:
            await self.publish(
                session_id,
                [
                    ReplyError(
                        reply_id=reply_id,
                        code="interrupted",
                        message="The reply was cut off by a server restart; ask again.",
                        message_id=str(uuid.uuid4()) if text else None,
                        text=text,
                    )
                    for reply_id, text in orphans.items()
                ],
            )

    async def _prepare_reply(
        self, session: Session, reply_id: str, text: str
    ) -> ReplyJob | ErrorEvent:
        async with self.db.session() as s:
            profile = await profile_repo.get_profile(s, session.owner_id, session.profile_id)
        history = turns(await load_messages(self.db, self.backend, session.id))
        used, budget = await self._budget_snapshot(session)
        clock = clock_of(session)
        now = datetime.now(UTC)
        spent_time = 100 * clock.used(now) / max(session.time_limit_seconds, 1)
        wind_down = (
            used * 100 >= self.config.wind_down_percent * budget
            or spent_time >= self.config.wind_down_percent
        )
        # The history is windowed to what the model holds AND what the budget can still
        # pay for: oldest turns give way (with a marker) before the session runs dry.
        context = max(min(self.config.context_tokens, budget - used), 1)
        request = ReplyRequest(
            persona=persona_of(profile, session.instructions),
            history=(*history, Turn("student", text)),
            max_tokens=self.config.reply_max_tokens,
            model=session.model,
            wind_down=wind_down,
            context_tokens=context,
        )
        input_tokens = estimate_request_tokens(request)
        hold = await self.budgets.reserve(
            str(session.id),
            reply_id,
            input_tokens,
            self.config.reply_max_tokens,
            self.config.min_reply_tokens,
        )
        if isinstance(hold, Refused):
            await self.control.expire(session.id, "tokens", actor=BUDGET_ACTOR)
            return error(
                "budget_exhausted",
                "The session's token budget is used up; no further replies are possible.",
            )
        # Freeze the history as estimated: a lower max_tokens must not let more in.
        _, windowed = prepare(request)
        request = dataclasses.replace(request, history=windowed, max_tokens=hold.max_tokens)
        return ReplyJob(
            session_id=session.id,
            owner_id=session.owner_id,
            reply_id=reply_id,
            request=request,
            input_estimate=input_tokens,
        )

    def _spawn(self, job: ReplyJob) -> None:
        # Replies belong to the hub, not to the socket that asked: a student who drops
        # off mid-reply gets the whole reply when they resume.
        task = asyncio.create_task(run_reply(self, job), name=f"reply-{job.reply_id}")
        self._replies.add(task)
        task.add_done_callback(self._replies.discard)

    async def stop(self, session_id: uuid.UUID, by: Role) -> ErrorEvent | None:
        sid = str(session_id)
        reply_id = await self.backend.current_reply(sid)
        if reply_id is None:
            return error("nothing_to_stop", "No reply is being generated.")
        if await self._request_stop(session_id, reply_id, by) is None:
            return error("nothing_to_stop", "The reply has already finished or is stopping.")
        return None

    async def _request_stop(self, session_id: uuid.UUID, reply_id: str, by: Role) -> int | None:
        """The seq of the ``reply.stop`` appended, or None if there was nothing to stop."""
        event = payload(ReplyStop(reply_id=reply_id, by=by))
        return await self._on_log(
            session_id, lambda: self.backend.request_stop(str(session_id), reply_id, event)
        )

    async def whisper(
        self, session_id: uuid.UUID, teacher_id: uuid.UUID, text: str
    ) -> ErrorEvent | None:
        session = await self.load(session_id)
        if session.owner_id != teacher_id:
            return error("forbidden", "Only the session's teacher can whisper.")
        if session.status in (SessionStatus.COMPLETED, SessionStatus.EXPIRED):
            return error("not_active", "The session has ended.")
        await self.publish(
            session_id,
            [MessageEvent(message_id=str(uuid.uuid4()), role=MessageRole.WHISPER, text=text)],
        )
        return None

    async def command(
        self, session_id: uuid.UUID, action: SessionAction, actor: str
    ) -> ErrorEvent | None:
        """pause / resume / end from a socket; the result arrives as a ``status`` event."""
        try:
            await self.control.transition(
                session_id,
                action,
                actor=actor,
                reason=actor.split(":", 1)[0] if action is SessionAction.END else None,
            )
        except IllegalTransition as refused:
            return error("illegal_transition", str(refused).capitalize() + ".")
        except Conflict:
            return error("conflict", "The session changed at the same moment; try again.")
        return None

    async def announce_presence(self, session_id: uuid.UUID) -> None:
        """Publish who is here, while the session is live: after its end, appends would
        keep its Redis keys from expiring."""
        session = await self.load(session_id)
        if session.status in (SessionStatus.COMPLETED, SessionStatus.EXPIRED):
            return
        presence = await self.backend.presence(str(session_id))
        await self.publish(
            session_id,
            [PresenceEvent(student_online=presence.student_online, observers=presence.observers)],
        )

    async def _touch_activity(self, session_id: uuid.UUID) -> None:
        # Best effort: the idle timer must not make a say fail while the database blips.
        try:
            async with self.db.session() as s:
                session = await session_repo.get_session_unscoped(s, session_id)
                session.last_activity_at = datetime.now(UTC)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("could not record activity for %s", session_id, exc_info=True)

    # -- lifecycle hooks ------------------------------------------------------------------

    async def _before_terminal(self, session_id: uuid.UUID) -> None:
        """Stop the running reply (on whichever worker streams it) and wait, bounded,
        until it has recorded its end, so the transcript is whole before the session
        is marked ended."""
        sid = str(session_id)
        reply_id = await self.backend.current_reply(sid)
        if reply_id is None:
            return
        await self._request_stop(session_id, reply_id, Role.TEACHER)
        await self.wait_reply_released(session_id, reply_id, self.config.stop_grace_seconds)

    async def wait_reply_released(
        self, session_id: uuid.UUID, reply_id: str, within: float
    ) -> bool:
        """Wait until ``reply_id`` no longer holds the lock: follows the log for its
        ``reply.done``/``reply.error`` rather than polling. False on timeout."""
        sid = str(session_id)
        info = await self.ensure_log(session_id)
        try:
            async with asyncio.timeout(within):
                if await self.backend.current_reply(sid) != reply_id:
                    return True
                async with self.backend.subscribe(sid, max(info.first_seq - 1, 0)) as events:
                    async for event in events:
                        ends = event.get("type") in ("reply.done", "reply.error")
                        if ends and event.get("reply_id") == reply_id:
                            return True
        except TimeoutError:
            return False
        return True

    async def _after_transition(
        self, session: Session, action: SessionAction, reason: str | None
    ) -> None:
        if action is SessionAction.EXTEND:
            await self.budgets.ensure(str(session.id), session.token_budget, session.tokens_used)
            snap = await self.budgets.snapshot(str(session.id))
            if session.token_budget > snap.budget:
                await self.budgets.extend(str(session.id), session.token_budget - snap.budget)
        status = StatusEvent(status=SessionStatus(session.status), reason=reason)
        await self.publish(session.id, [status, await self.budget_event(session)])
