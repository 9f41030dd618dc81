"""The hub: one per web process. Turns socket commands into log events and replies.

Everything shared between workers goes through the session log and the budget store;
the reply runner owns this process's reply tasks. Commands answer ``None`` when accepted
(their effect arrives as log events) or an ``ErrorEvent`` for the sender alone.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from realtime.budgets import BudgetStart, BudgetStore, Refused, Reserved
from realtime.budgets.policy import time_percent
from realtime.capchecks import CapChecks, sql_caps
from realtime.clientstate import start, to_event
from realtime.clientturns import client_turns, turn_state
from realtime.config import RealtimeConfig
from realtime.control import SessionControl, clock_of
from realtime.conversation import ReplyRunner
from realtime.events import (
    UNAVAILABLE_MESSAGE,
    ClientStateEvent,
    DirectionEvent,
    ErrorEvent,
    MessageEvent,
    ReplyStart,
    error,
)
from realtime.lifecycle import TERMINAL, IllegalTransition, SessionAction, SessionStatus
from realtime.memo import Throttle, TtlMemo
from realtime.planning import PlannedReply, fit_to_reservation, plan_reply
from realtime.quota import CAP_MESSAGE
from realtime.recentlog import Recent, RecentLog
from realtime.replyjob import ReplyJob
from realtime.replyslots import BUSY_MESSAGE
from realtime.sayopening import SayOpener
from realtime.sessionlog import SessionLog
from realtime.sessionrows import SessionRows
from realtime.sessionview import Said, SessionView
from realtime.transcript import persona_of, turns
from realtime.vocabulary import ErrorCode, MessageRole, Role
from storage.db import Database
from storage.errors import Conflict
from storage.models import ClientProfile, Session
from storage.repos import profiles as profile_repo
from storage.repos import sessions as session_repo

log = logging.getLogger(__name__)

__all__ = ["Hub"]

IN_PROGRESS_MESSAGE = "The client is still answering. Wait for the reply (or press Stop) first."


class Hub:
    def __init__(
        self,
        *,
        db: Database,
        log: SessionLog,
        budgets: BudgetStore,
        runner: ReplyRunner,
        control: SessionControl,
        config: RealtimeConfig,
        recent: RecentLog | None = None,
        caps: CapChecks | None = None,
    ) -> None:
        self._db = db
        self._log = log
        self._budgets = budgets
        self._runner = runner
        self._control = control
        self._config = config
        self._recent = recent or RecentLog(log)
        self._profiles: TtlMemo[uuid.UUID, ClientProfile] = TtlMemo(config.say_memo_seconds)
        self._activity: Throttle[uuid.UUID] = Throttle(config.activity_write_seconds)
        self._rows = SessionRows(control)
        self._opener = SayOpener(log, self._recent, config)
        self._caps = caps or CapChecks(sql_caps(db, config.teacher_monthly_token_cap))

    async def say(self, session_id: uuid.UUID, text: str, client_id: str) -> ErrorEvent | None:
        """Store the student's message once per ``client_id`` and start the reply.

        One reply at a time: a say while a reply streams is refused (``reply_in_progress``)
        and nothing is stored, so the client keeps the text and may send it again. Past
        the worker's reply slots and queue (:mod:`realtime.replyslots`) a say is refused
        ``busy`` the same way; with room in the queue it is accepted and its reply waits
        for a slot (``reply.start`` is logged at once, the first delta comes later)."""
        # What a say acknowledges, SQL must be able to record: while the database is known
        # lost, a say asks it first (one trivial query; the flag clears when it answers).
        if self._db.unreachable and not await self._db.reachable():
            return error(ErrorCode.UNAVAILABLE, UNAVAILABLE_MESSAGE)
        sid, reply_id = str(session_id), uuid.uuid4().hex
        backend = self._log.backend
        # The lease runs from the lock's taking, inside the opening: timed from before it
        # (a worker's first look at a session reads SQL there, and under load that alone
        # outlasted a short lease), not from after it.
        lease, acquired_at = self._config.reply_lock_seconds, time.monotonic()
        opened = await self._opener.open(session_id, reply_id, client_id)
        if opened is None:
            return error(ErrorCode.REPLY_IN_PROGRESS, IN_PROGRESS_MESSAGE)
        recent, recorded = opened
        started, exhausted, ticket = False, False, None
        try:
            # The row as of the log read under the lock (SQL only on a worker's first
            # look or after a logged state change; a slow one renews the lease below).
            session = await self._rows.current(session_id, recent)
            if session.status != SessionStatus.ACTIVE:
                return error(
                    ErrorCode.NOT_ACTIVE, f"The session is {session.status}; you cannot send now."
                )
            caps = await self._caps.check(session.owner_id)
            if caps.reached:
                return error(ErrorCode.MONTHLY_CAP_REACHED, CAP_MESSAGE)
            view = recent.view
            if await self._opener.already_said(sid, client_id, view, recorded):
                return None  # a retry of a message already stored: nothing to do
            # Past capacity: refused before anything is stored or reserved (the claim
            # above is harmless: a claim without a result is said again on a retry).
            ticket = self._runner.slots.admit()
            if ticket is None:
                self._runner.observer.say_busy()
                return error(ErrorCode.BUSY, BUSY_MESSAGE)
            await self._log.close_orphans(session_id, view)
            job = await self.prepare_reply(
                session, reply_id, text, view, recent.messages, near_cap=not caps.far
            )
            if isinstance(job, ErrorEvent):
                exhausted = job.code == ErrorCode.BUDGET_EXHAUSTED
                return job
            # Opening and preparing (SQL, planning, the reservation) can outlast the short
            # lease under load: past a quarter of it, renew it before anything is stored,
            # and give the hold back if it lapsed (sooner, three quarters are left, and the
            # runner renews it a quarter after it was taken: a round trip saved on nearly
            # every say, and one more on every reply).
            if (now := time.monotonic()) - acquired_at > lease / 4:
                if not await backend.refresh_reply(sid, reply_id, lease):
                    await self._budgets.settle(sid, reply_id, 0, 0)
                    return error(ErrorCode.REPLY_IN_PROGRESS, IN_PROGRESS_MESSAGE)
                acquired_at = now
            message = MessageEvent(
                message_id=str(uuid.uuid4()),
                role=MessageRole.STUDENT,
                text=text,
                client_id=client_id,
            )
            seqs = await self._log.publish(session_id, [message, ReplyStart(reply_id=reply_id)])
            job.start_seq, job.ticket, job.leased_at = seqs[1], ticket, acquired_at
            # A stop or an end logged since the snapshot found the session active (while
            # this say prepared, the end does not wait for a reply not yet started).
            job.watch_after = recent.info.last_seq
            self._runner.start(job)
            started = True
            # After the start, off the way to the model (a round trip, ~1 ms on Redis at
            # 25 sessions). Still before the reply's first delta, which needs the model's
            # answer: observers see what the turn did to the client before the reply, and
            # the next say (after this reply's end) finds it.
            if job.turn is not None:
                await self._log.publish(session_id, [job.turn.event(seqs[0])])
                self._runner.client_states.remember(session_id, seqs[0], job.turn.state)
            # A retry arriving before this is recorded finds the message in the log and
            # records it (SayOpener.already_said).
            await self._opener.record(sid, client_id, Said(seqs[0], message.message_id))
            await self._touch_activity(session_id)
            await self._caps.refresh(session.owner_id)
            return None
        finally:
            if not started:
                if ticket is not None:
                    ticket.release()
                await backend.release_reply(sid, reply_id)
            # Only with the lock given up: the end stops the running reply and waits (up
            # to 5 s) for its end, and under the lock that would be this say's own reply,
            # which never started.
            if exhausted:
                await self._runner.expire_for_tokens(session_id)

    async def snapshot(self, session_id: uuid.UUID) -> tuple[Recent, Session]:
        """The session's log as this worker caught up with it now, and its row as of that
        log (SQL only for a worker's first look and after a logged state change; see
        :class:`SessionRows`)."""
        recent = await self.catch_up(session_id)
        return recent, await self._rows.current(session_id, recent)

    async def catch_up(self, session_id: uuid.UUID) -> Recent:
        """The session's log as this worker caught up with it now (see RecentLog)."""
        return await self._recent.catch_up(session_id)

    async def prepare_reply(
        self,
        session: Session,
        reply_id: str,
        text: str,
        view: SessionView | None = None,
        messages: Sequence[MessageEvent] | None = None,
        *,
        near_cap: bool = False,
    ) -> ReplyJob | ErrorEvent:
        """Score the student's turn into the client state, plan the reply to ``text`` with
        only the facts unlocked so far, and reserve its worst-case cost; when not even a
        minimal reply fits, answer ``budget_exhausted`` (the caller expires the session,
        reason ``tokens``, once it has given the reply lock up). ``view``: the recent log
        (the latest client state and the teacher's directions); ``messages``: the
        transcript so far (default: loaded). The caller holds the reply lock for
        ``reply_id``."""
        view = view or SessionView()
        profile = await self._profile(session)
        if messages is None:
            messages = await self._log.messages(session.id)
        history = turns(messages)
        persona = persona_of(profile, session.instructions)
        held = self._runner.client_states.recall(
            session.id, view.client_state, persona.hidden_facts, persona.difficulty
        )
        turn = turn_state(
            persona,
            view,
            client_turns(messages),
            text,
            seq=view.last_seq + 1,  # provisional: the message lands at this seq or later
            before=held,
        )
        sid = str(session.id)
        # Planned from the row and the log, with no round trip of its own: the row's count
        # lags the live one, and the log's latest budget tick (each reply's end logs one)
        # is fresher. The reservation below, against the live ledger, is what bounds the
        # reply; it sets the ledger up with these when it has none.
        logged = view.budget.tokens_used if view.budget is not None else 0
        standing = BudgetStart(session.token_budget, max(session.tokens_used, logged))
        config = self._config
        # The session's catalog entry sets the window and the reply cap (no model, or one
        # the catalog no longer has: the default entry).
        entry = self._runner.models.route(session.model).entry
        spent_time = time_percent(clock_of(session), datetime.now(UTC))

        def plan(used: int, budget: int) -> PlannedReply:
            return plan_reply(
                persona=turn.persona,
                history=history,
                text=text,
                model=entry.model,
                tokens_used=used,
                token_budget=budget,
                time_percent=spent_time,
                reply_max_tokens=entry.max_reply_tokens,
                context_tokens=entry.context_window,
                wind_down_percent=config.wind_down_percent,
            )

        async def reserve(planned: PlannedReply, start: BudgetStart | None) -> Reserved | Refused:
            return await self._budgets.reserve(
                sid,
                reply_id,
                planned.input_tokens,
                entry.max_reply_tokens,
                config.min_reply_tokens,
                start=start,
            )

        planned = plan(standing.used, standing.budget)
        hold = await reserve(planned, standing)
        if isinstance(hold, Reserved):
            ledger = (hold.used, hold.budget)
        else:
            snapshot = await self._budgets.snapshot(sid)
            ledger = (snapshot.used, snapshot.budget)
        if ledger != (standing.used, standing.budget):
            # The ledger knew more than the row and the log (a settled reply whose tick
            # never reached the log, an extension the row does not show yet): plan from
            # it (nearer the end: a wind-down, a shorter history) and hold for that.
            if isinstance(hold, Reserved):
                await self._budgets.settle(sid, reply_id, 0, 0)
            planned = plan(*ledger)
            hold = await reserve(planned, None)
        if isinstance(hold, Refused):
            self._runner.observer.budget_refused()
            return error(
                ErrorCode.BUDGET_EXHAUSTED,
                "The session's token budget is used up; no further replies are possible.",
            )
        return ReplyJob(
            session_id=session.id,
            owner_id=session.owner_id,
            reply_id=reply_id,
            request=fit_to_reservation(planned, hold.max_tokens),
            input_estimate=planned.input_tokens,
            client=turn.state,
            turn=turn,
            model_id=entry.id,
            clock=clock_of(session),
            near_cap=near_cap,
        )

    async def _profile(self, session: Session) -> ClientProfile:
        async def load() -> ClientProfile:
            async with self._db.session() as s:
                return await profile_repo.get_profile(s, session.owner_id, session.profile_id)

        return await self._profiles.get(session.profile_id, load)

    async def starting_client_state(self, session: Session) -> ClientStateEvent:
        """The client state before the first student turn (every fact locked)."""
        profile = await self._profile(session)
        persona = persona_of(profile, session.instructions)
        return to_event(start(persona.hidden_facts, difficulty=persona.difficulty))

    async def stop(
        self, session_id: uuid.UUID, by: Role, reply_id: str | None = None
    ) -> ErrorEvent | None:
        """Stop the running reply (only if it is ``reply_id``, when given)."""
        running = await self._log.backend.current_reply(str(session_id))
        if running is None or (reply_id is not None and reply_id != running):
            return error(ErrorCode.NOTHING_TO_STOP, "No reply is being generated.")
        if await self._log.request_stop(session_id, running, by) is None:
            return error(
                ErrorCode.NOTHING_TO_STOP, "The reply has already finished or is stopping."
            )
        return None

    async def whisper(
        self, session_id: uuid.UUID, teacher_id: uuid.UUID, text: str
    ) -> ErrorEvent | None:
        session = await self._control.load(session_id)
        if session.owner_id != teacher_id:
            return error(ErrorCode.FORBIDDEN, "Only the session's teacher can whisper.")
        if SessionStatus(session.status) in TERMINAL:
            return error(ErrorCode.NOT_ACTIVE, "The session has ended.")
        whisper = MessageEvent(message_id=str(uuid.uuid4()), role=MessageRole.WHISPER, text=text)
        await self._log.publish(session_id, [whisper])
        return None

    async def direct(
        self, session_id: uuid.UUID, teacher_id: uuid.UUID, text: str
    ) -> ErrorEvent | None:
        """A teacher's private direction to the client: logged for observers and the
        audit trail, folded into the next prompts, never sent to the student."""
        session = await self._control.load(session_id)
        if session.owner_id != teacher_id:
            return error(ErrorCode.FORBIDDEN, "Only the session's teacher can direct the client.")
        if SessionStatus(session.status) in TERMINAL:
            return error(ErrorCode.NOT_ACTIVE, "The session has ended.")
        await self._log.publish(session_id, [DirectionEvent(text=text)])
        return None

    async def command(
        self, session_id: uuid.UUID, action: SessionAction, actor: str
    ) -> ErrorEvent | None:
        """pause / resume / end from a socket; the result arrives as a ``status`` event."""
        try:
            await self._control.transition(
                session_id,
                action,
                actor=actor,
                reason=actor.split(":", 1)[0] if action is SessionAction.END else None,
            )
        except IllegalTransition as refused:
            return error(ErrorCode.ILLEGAL_TRANSITION, str(refused).capitalize() + ".")
        except Conflict:
            return error(ErrorCode.CONFLICT, "The session changed at the same moment; try again.")
        return None

    async def _touch_activity(self, session_id: uuid.UUID) -> None:
        # Best effort: the idle timer must not make a say fail while the database blips.
        if not self._activity.due(session_id):
            return
        try:
            async with self._db.session() as s:
                await session_repo.touch_activity(s, session_id, datetime.now(UTC))
        except asyncio.CancelledError:
            raise
        except Exception:
            self._activity.reset(session_id)
            log.warning("could not record activity for %s", session_id, exc_info=True)
