"""The reply runner: stream one reply from the provider into the log, coalesced, until it
is done, fails, or is stopped from anywhere; then settle the budget and record the call.

Per reply, three tasks share a queue: the stop watcher (it folds the session log, so a
``stop`` on any worker reaches us) and the lock keeper, from the start, and the provider
pump once the reply holds one of the worker's slots (:mod:`realtime.replyslots`: a reply
queued for one keeps its lease and can be stopped without reaching the provider). The loop only
moves data: coalescing rules are in :class:`DeltaCoalescer`, budget rules in the ledger
and :mod:`realtime.budgets.policy`. The runner owns its reply tasks: replies belong to
the worker, not to the socket that asked, so a student who drops off mid-reply gets the
whole reply when they resume.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from collections.abc import Coroutine
from typing import Any

from llm.base import Done, Failed, Provider, TextDelta
from llm.base import Usage as LlmUsage
from llm.integrity import Integrity
from llm.metrics import CallRecord, MeteredStream, measure
from llm.registry import ModelRegistry
from realtime.budgets import BudgetStore, Refused
from realtime.budgets.policy import out_of_tokens
from realtime.clientmemo import LiveClientStates
from realtime.clientturns import after_reply, check_integrity, disclosures, flagged_event
from realtime.coalesce import DeltaCoalescer
from realtime.config import RealtimeConfig
from realtime.control import BUDGET_ACTOR, SessionControl
from realtime.events import (
    BudgetEvent,
    ReplyDelta,
    ReplyDone,
    ReplyError,
    ReplyStart,
    SequencedEvent,
)
from realtime.metrics import NULL_OBSERVER, Observer
from realtime.replyend import STAY_IN_ROLE, UNAVAILABLE, Outcome, end_event, withdrawn
from realtime.replyjob import ReplyJob
from realtime.replyslots import BUSY_MESSAGE, QueueWaitExceeded, ReplySlots
from realtime.replywatch import Item, keep_lease, pump_stream, slot_or_stop, watch_stop
from realtime.sessionlog import SessionLog
from realtime.usagerecord import store_now, usage_event
from realtime.vocabulary import BudgetWarning
from storage.db import Database

log = logging.getLogger(__name__)

__all__ = ["ReplyRunner"]


class ReplyRunner:
    def __init__(
        self,
        *,
        log: SessionLog,
        budgets: BudgetStore,
        provider: Provider | ModelRegistry,
        control: SessionControl,
        db: Database,
        config: RealtimeConfig,
        observer: Observer = NULL_OBSERVER,
    ) -> None:
        self.observer = observer  # also the hub's, for refused says
        self._log = log
        self._budgets = budgets
        # A single provider is a one-model catalog with the config's windows.
        self.models = (
            provider
            if isinstance(provider, ModelRegistry)
            else ModelRegistry.single(
                provider,
                context_window=config.context_tokens,
                max_reply_tokens=config.reply_max_tokens,
            )
        )
        self._control = control
        self._db = db
        self._config = config
        self._tasks: set[asyncio.Task[None]] = set()
        #: Each session's client state as this worker last published it (for the next say).
        self.client_states = LiveClientStates()
        self.slots = ReplySlots(
            config.max_streaming_replies,
            config.reply_queue_size,
            config.reply_queue_wait_seconds,
            on_waiting=observer.replies_waiting,
        )

    def start(self, job: ReplyJob) -> None:
        """Run ``job`` as a task this runner owns until it ends or :meth:`aclose`."""
        ticket = job.ticket = job.ticket or self.slots.admitted()
        task = self._own(self.run(job), f"reply-{job.reply_id}")
        # Also when cancelled before its first step (shutdown), when run's finally never runs.
        task.add_done_callback(lambda _: ticket.release())

    async def expire_for_tokens(self, session_id: uuid.UUID) -> None:
        """Expire the session (reason ``tokens``) in a task this runner owns, so the
        socket whose say found the budget spent may go meanwhile: a student dropping off
        mid-say must not leave the session open with every say refused (the watchdog's
        lower-bound check does not end it)."""
        await asyncio.shield(self._own(self._expire(session_id), f"expire-{session_id}"))

    async def _expire(self, session_id: uuid.UUID) -> None:
        await self._control.expire(session_id, "tokens", actor=BUDGET_ACTOR)

    def _own(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def aclose(self, grace: float = 0.0) -> None:
        """Let the running replies finish for up to ``grace`` seconds (a graceful
        shutdown: their sockets already moved to another worker, which streams the rest
        from the shared log), then cancel what is left and wait until each has recorded
        its end (as interrupted)."""
        if self._tasks and grace > 0:
            await asyncio.wait(list(self._tasks), timeout=grace)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def run(self, job: ReplyJob) -> None:
        """Stream one reply, and its one retry if the persona checks withdrew it.
        Cancelling (server shutdown) is safe: the partial reply is recorded as
        interrupted, the budget settled and the lock released."""
        job.ticket = job.ticket or self.slots.admitted()
        next_job: ReplyJob | None = job
        try:
            while next_job is not None:
                next_job = await self._run_once(next_job)
        finally:
            if job.ticket is not None:
                job.ticket.release()

    async def _run_once(self, job: ReplyJob) -> ReplyJob | None:
        coalescer = DeltaCoalescer()
        records: list[CallRecord] = []
        outcome = Outcome("failed", Failed("internal", UNAVAILABLE))
        exhausted, again = False, False
        try:
            outcome = await self._stream(job, coalescer, records)
        except asyncio.CancelledError:
            outcome = Outcome("failed", Failed("interrupted", "The server restarted mid-reply."))
            raise
        except Exception:
            log.exception("reply %s failed", job.reply_id)
        finally:
            finished = False
            try:
                exhausted, again = await self._finish(job, coalescer, records, outcome)
                finished = True  # and so released, right after the end was logged
            finally:
                # A failure in the finish: compare-and-delete makes a second release safe.
                if not finished:
                    await self._log.backend.release_reply(str(job.session_id), job.reply_id)
        if exhausted:
            await self._expire(job.session_id)
            return None
        return await self._start_again(job) if again else None

    async def _start_again(self, job: ReplyJob) -> ReplyJob | None:
        """The one retry of a withdrawn reply, as a new reply under the lock and a new
        reservation; None when a say or the budget got there first."""
        sid, reply_id, leased_at = str(job.session_id), uuid.uuid4().hex, time.monotonic()
        if not await self._log.backend.acquire_reply(
            sid, reply_id, self._config.reply_lock_seconds
        ):
            return None
        config, request = self._config, job.request
        hold = await self._budgets.reserve(
            sid, reply_id, job.input_estimate, request.max_tokens, config.min_reply_tokens
        )
        if isinstance(hold, Refused):
            await self._log.backend.release_reply(sid, reply_id)
            return None
        persona = dataclasses.replace(
            request.persona, directions=(*request.persona.directions, STAY_IN_ROLE)
        )
        (start_seq,) = await self._log.publish(job.session_id, [ReplyStart(reply_id=reply_id)])
        return dataclasses.replace(
            job,
            reply_id=reply_id,
            request=dataclasses.replace(request, persona=persona, max_tokens=hold.max_tokens),
            start_seq=start_seq,
            attempt=2,
            leased_at=leased_at,
        )

    async def _stream(
        self, job: ReplyJob, coalescer: DeltaCoalescer, records: list[CallRecord]
    ) -> Outcome:
        queue: asyncio.Queue[Item] = asyncio.Queue()
        ticket = job.ticket
        assert ticket is not None  # run() gives every job its place (a retry keeps it)
        watch_after = job.start_seq - 1 if job.watch_after is None else job.watch_after
        async with asyncio.TaskGroup() as tasks:
            # Before the wait for a slot: a queued reply keeps its lease (or orphan repair
            # would close it) and hears a stop, a pause or the session's end.
            helpers = [
                tasks.create_task(
                    watch_stop(self._log, job.session_id, job.reply_id, watch_after, queue)
                ),
                tasks.create_task(
                    keep_lease(
                        self._log.backend,
                        job.session_id,
                        job.reply_id,
                        self._config.reply_lock_seconds,
                        queue,
                        job.leased_at,
                    )
                ),
            ]
            try:
                if not await slot_or_stop(ticket, queue):
                    return Outcome("stopped")
                try:
                    return await self._call(job, coalescer, records, queue)
                finally:
                    ticket.release()
            except QueueWaitExceeded:
                log.warning("reply %s found no slot in time", job.reply_id)
                return Outcome("failed", Failed("unavailable", BUSY_MESSAGE))
            finally:
                for helper in helpers:
                    helper.cancel()

    async def _call(
        self,
        job: ReplyJob,
        coalescer: DeltaCoalescer,
        records: list[CallRecord],
        queue: asyncio.Queue[Item],
    ) -> Outcome:
        """The upstream call itself, under a slot."""
        provider = self.models.route(job.model_id).provider
        async with (
            measure(provider, job.request, on_record=records.append) as stream,
            asyncio.TaskGroup() as tasks,
        ):
            pump = tasks.create_task(pump_stream(stream, queue))
            try:
                return await self._consume(job, coalescer, queue, stream)
            finally:
                pump.cancel()

    async def _consume(
        self,
        job: ReplyJob,
        coalescer: DeltaCoalescer,
        queue: asyncio.Queue[Item],
        stream: MeteredStream,
    ) -> Outcome:
        outcome = Outcome("done")
        while True:
            deadline = coalescer.deadline()
            if deadline is None:  # nothing held back (the common case): no timer to set
                item = await queue.get()
            else:
                try:
                    async with asyncio.timeout(max(deadline - time.monotonic(), 0.0)):
                        item = await queue.get()
                except TimeoutError:
                    await self._send_text(job, coalescer.due(time.monotonic()))
                    continue
            if item[0] == "stop":
                return Outcome("stopped", usage=stream.usage)
            if item[0] == "end":
                return outcome
            match item[1]:
                case TextDelta(text=text):
                    await self._send_text(job, coalescer.feed(text, time.monotonic()))
                case LlmUsage() as usage:
                    outcome.usage = usage
                case Failed() as failed:
                    outcome = Outcome("failed", failed, outcome.usage)
                case Done():
                    outcome.kind = "done"

    async def _send_text(self, job: ReplyJob, text: str | None) -> None:
        if text:
            await self._log.publish(job.session_id, [ReplyDelta(reply_id=job.reply_id, text=text)])

    async def _finish(
        self,
        job: ReplyJob,
        coalescer: DeltaCoalescer,
        records: list[CallRecord],
        outcome: Outcome,
    ) -> tuple[bool, bool]:
        """Record how the reply ended: the log first (what students see), then the budget
        and the usage row, then what the reply disclosed. Returns whether what is left
        cannot pay for another reply, and whether to ask for this reply once more."""
        record = records[-1] if records else None
        if record is not None:
            self.observer.reply_recorded(record)
        input_tokens = record.input_tokens if record else 0
        output_tokens = record.output_tokens if record else 0
        if outcome.usage is not None:
            input_tokens, output_tokens = outcome.usage.input_tokens, outcome.usage.output_tokens
        events: list[SequencedEvent] = []
        if tail := coalescer.finish():
            events.append(ReplyDelta(reply_id=job.reply_id, text=tail))
        text, checks = coalescer.text, self._checks(job, outcome, coalescer.text)
        withdraw = (
            checks is not None
            and not checks.ok
            and self._config.reply_integrity == "regenerate"
            and job.attempt == 1
            and outcome.kind == "done"
        )
        if withdraw:
            end: ReplyDone | ReplyError = withdrawn(job.reply_id)
        else:
            end = end_event(job.reply_id, text, outcome, input_tokens, output_tokens)
        events.append(end)
        if checks is not None:
            flagged = flagged_event(checks, job.reply_id, withdrawn_text=text if withdraw else None)
            events += [flagged] if flagged is not None else []
        sid = str(job.session_id)
        settled = await self._budgets.settle(sid, job.reply_id, input_tokens, output_tokens)
        tick = BudgetEvent(
            tokens_used=settled.used,
            token_budget=settled.budget,
            seconds_left=await self._seconds_left(job, outcome),
        )
        events.append(tick)
        # Each of WARNING_LEVELS crossed once: a durable warning the flusher audits.
        events += [
            tick.model_copy(update={"warning": BudgetWarning.TOKENS_LOW, "percent": level})
            for level in settled.crossed
        ]
        # The usage row rides the log to the flusher: no transaction of its own per reply.
        usage = usage_event(
            self.models,
            owner_id=job.owner_id,
            reply_id=job.reply_id,
            model_id=job.model_id,
            record=record,
            tokens_used=settled.used,
        )
        events.append(usage)
        try:
            seqs = await self._log.publish(job.session_id, events)
        finally:
            # Released as soon as the end is in the log, so the next say can start at once.
            await self._log.backend.release_reply(sid, job.reply_id)
        if job.client is not None and not withdraw and text:
            told, disclosed = disclosures(job.client, text, seq=seqs[events.index(end)])
            if disclosed is not None:
                await self._log.publish(job.session_id, [disclosed])
                self.client_states.remember(job.session_id, disclosed.after_seq, told)
            after_reply(text)
        if job.near_cap:  # the next say's cap check must count this reply
            appended = usage.with_seq(seqs[events.index(usage)])
            await store_now(self._db, job.session_id, appended)
        exhausted = out_of_tokens(
            settled.budget, settled.used, job.input_estimate, self._config.min_reply_tokens
        )
        return exhausted, withdraw

    def _checks(self, job: ReplyJob, outcome: Outcome, text: str) -> Integrity | None:
        """The persona checks on a reply that finished with text (none without a client
        state: nothing to check a leak against)."""
        if job.client is None or outcome.kind == "failed" or not text:
            return None
        request = job.request
        return check_integrity(
            job.client,
            request.persona,
            text,
            max_tokens=request.max_tokens,
            wind_down=request.wind_down,
        )

    async def _seconds_left(self, job: ReplyJob, outcome: Outcome) -> float | None:
        """For the budget tick: by the say's clock unless the reply was stopped (a pause
        or the end may have moved the clock), else by the row; None when the database
        cannot say right now (the reply's end must reach the log whatever SQL is doing)."""
        if job.clock is not None and outcome.kind != "stopped":
            return self._control.seconds_left(job.clock)
        try:
            session = await self._control.load(job.session_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("no time left for %s: database unavailable", job.session_id)
            return None
        return self._control.seconds_left(session)
