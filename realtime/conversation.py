"""The reply runner: stream one reply from the provider into the log, coalesced, until it
is done, fails, or is stopped from anywhere; then settle the budget and record the call.

Per reply, three tasks share a queue: the provider pump, the stop watcher (it folds the
session log, so a ``stop`` on any worker reaches us) and the lock keeper. The loop only
moves data: coalescing rules are in :class:`DeltaCoalescer`, budget rules in the ledger
and :mod:`realtime.budgets.policy`. The runner owns its reply tasks: replies belong to
the worker, not to the socket that asked, so a student who drops off mid-reply gets the
whole reply when they resume.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Literal

from llm.base import Done, Failed, Provider, ReplyEvent, ReplyRequest, TextDelta
from llm.base import Usage as LlmUsage
from llm.metrics import CallRecord, MeteredStream, measure
from realtime.budgets import BudgetStore
from realtime.budgets.policy import out_of_tokens
from realtime.coalesce import DeltaCoalescer
from realtime.config import RealtimeConfig
from realtime.control import BUDGET_ACTOR, SessionControl
from realtime.events import (
    BudgetEvent,
    ReplyDelta,
    ReplyDone,
    ReplyError,
    SequencedEvent,
    Usage,
    failure_code,
)
from realtime.lifecycle import SessionStatus
from realtime.sessionlog import SessionLog
from realtime.sessionview import SessionView
from realtime.vocabulary import BudgetWarning
from storage.db import Database
from storage.repos import sessions as session_repo
from storage.repos import usage as usage_repo

log = logging.getLogger(__name__)

__all__ = ["ReplyJob", "ReplyRunner"]

Item = (
    tuple[Literal["event"], ReplyEvent] | tuple[Literal["end"], None] | tuple[Literal["stop"], None]
)

UNAVAILABLE = "The client is unavailable right now, try again."


@dataclass
class ReplyJob:
    session_id: uuid.UUID
    owner_id: uuid.UUID
    reply_id: str
    request: ReplyRequest
    input_estimate: int
    start_seq: int = 0


@dataclass
class Outcome:
    kind: Literal["done", "stopped", "failed"]
    failure: Failed | None = None
    usage: LlmUsage | None = None


class ReplyRunner:
    def __init__(
        self,
        *,
        log: SessionLog,
        budgets: BudgetStore,
        provider: Provider,
        control: SessionControl,
        db: Database,
        config: RealtimeConfig,
    ) -> None:
        self._log = log
        self._budgets = budgets
        self._provider = provider
        self._control = control
        self._db = db
        self._config = config
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, job: ReplyJob) -> None:
        """Run ``job`` as a task this runner owns until it ends or :meth:`aclose`."""
        task = asyncio.create_task(self.run(job), name=f"reply-{job.reply_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        """Cancel the running replies and wait until each has recorded its end."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def run(self, job: ReplyJob) -> None:
        """Stream one reply. Cancelling (server shutdown) is safe: the partial reply is
        recorded as interrupted, the budget settled and the lock released."""
        coalescer = DeltaCoalescer()
        records: list[CallRecord] = []
        outcome = Outcome("failed", Failed("internal", UNAVAILABLE))
        exhausted = False
        try:
            outcome = await self._stream(job, coalescer, records)
        except asyncio.CancelledError:
            outcome = Outcome("failed", Failed("interrupted", "The server restarted mid-reply."))
            raise
        except Exception:
            log.exception("reply %s failed", job.reply_id)
        finally:
            try:
                exhausted = await self._finish(job, coalescer, records, outcome)
            finally:
                # Normally released already (right after the end was logged); this covers a
                # failure before that point. Compare-and-delete makes it safe to repeat.
                await self._log.backend.release_reply(str(job.session_id), job.reply_id)
        if exhausted:
            await self._control.expire(job.session_id, "tokens", actor=BUDGET_ACTOR)

    async def _stream(
        self, job: ReplyJob, coalescer: DeltaCoalescer, records: list[CallRecord]
    ) -> Outcome:
        queue: asyncio.Queue[Item] = asyncio.Queue()
        async with (
            measure(self._provider, job.request, on_record=records.append) as stream,
            asyncio.TaskGroup() as tasks,
        ):
            helpers = [
                tasks.create_task(_pump(stream, queue)),
                tasks.create_task(self._watch_stop(job, queue)),
                tasks.create_task(self._keep_lock(job, queue)),
            ]
            try:
                return await self._consume(job, coalescer, queue, stream)
            finally:
                for helper in helpers:
                    helper.cancel()

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
            timeout = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            try:
                async with asyncio.timeout(timeout):
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

    async def _watch_stop(self, job: ReplyJob, queue: asyncio.Queue[Item]) -> None:
        """Fold the log from the reply's start: a stop asked for this reply, or the session
        leaving ``active``, ends the stream. Costs no extra Redis command (one shared
        reader per worker)."""
        view = SessionView()
        async with self._log.subscribe(job.session_id, max(job.start_seq - 1, 0)) as events:
            async for event in events:
                view = view.apply(event)
                reply = view.open_reply(job.reply_id)
                stopped = reply is not None and reply.stop_by is not None
                if stopped or view.status not in (None, SessionStatus.ACTIVE):
                    queue.put_nowait(("stop", None))
                    return

    async def _keep_lock(self, job: ReplyJob, queue: asyncio.Queue[Item]) -> None:
        """Renew the reply's lease every quarter of it. A lease found lost (this process
        stalled past it, and the next say may already run) stops the reply: two replies
        must never stream at once."""
        lease = self._config.reply_lock_seconds
        while True:
            await asyncio.sleep(lease / 4)
            if not await self._log.backend.refresh_reply(str(job.session_id), job.reply_id, lease):
                log.warning("reply %s lost its lease; stopping it", job.reply_id)
                queue.put_nowait(("stop", None))
                return

    async def _finish(
        self,
        job: ReplyJob,
        coalescer: DeltaCoalescer,
        records: list[CallRecord],
        outcome: Outcome,
    ) -> bool:
        """Record how the reply ended: the log first (what students see), then the budget
        and the usage row. True when what is left cannot pay for another reply."""
        record = records[-1] if records else None
        input_tokens = record.input_tokens if record else 0
        output_tokens = record.output_tokens if record else 0
        if outcome.usage is not None:
            input_tokens, output_tokens = outcome.usage.input_tokens, outcome.usage.output_tokens
        events: list[SequencedEvent] = []
        if tail := coalescer.finish():
            events.append(ReplyDelta(reply_id=job.reply_id, text=tail))
        end = _end_event(job.reply_id, coalescer.text, outcome, input_tokens, output_tokens)
        events.append(end)
        sid = str(job.session_id)
        settled = await self._budgets.settle(sid, job.reply_id, input_tokens, output_tokens)
        tick = BudgetEvent(
            tokens_used=settled.used,
            token_budget=settled.budget,
            seconds_left=await self._seconds_left(job),
        )
        events.append(tick)
        # Each of WARNING_LEVELS crossed once: a durable warning the flusher audits.
        events += [
            tick.model_copy(update={"warning": BudgetWarning.TOKENS_LOW, "percent": level})
            for level in settled.crossed
        ]
        try:
            await self._log.publish(job.session_id, events)
        finally:
            # Released as soon as the end is in the log, so the next say can start at once.
            await self._log.backend.release_reply(sid, job.reply_id)
        await self._record(job, record, settled.used)
        return out_of_tokens(
            settled.budget, settled.used, job.input_estimate, self._config.min_reply_tokens
        )

    async def _seconds_left(self, job: ReplyJob) -> float | None:
        """For the budget tick; None when the database cannot say right now (the reply's
        end must reach the log whatever SQL is doing)."""
        try:
            session = await self._control.load(job.session_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("no time left for %s: database unavailable", job.session_id)
            return None
        return self._control.seconds_left(session)

    async def _record(self, job: ReplyJob, record: CallRecord | None, tokens_used: int) -> None:
        """One SQL transaction per reply: the API-usage row and the session's token count."""
        try:
            async with self._db.session() as s:
                if record is not None:
                    await usage_repo.record_call(
                        s,
                        job.owner_id,
                        session_id=job.session_id,
                        provider=record.provider,
                        model=record.model,
                        input_tokens=record.input_tokens,
                        output_tokens=record.output_tokens,
                        time_to_first_token_ms=record.time_to_first_token_ms,
                        duration_ms=record.duration_ms,
                        outcome=record.outcome,
                    )
                session = await session_repo.get_session_unscoped(s, job.session_id)
                session.tokens_used = max(session.tokens_used, tokens_used)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The live budget already holds the charge; SQL catches up on the next reply.
            log.exception("could not record usage of reply %s", job.reply_id)


def _end_event(
    reply_id: str, text: str, outcome: Outcome, input_tokens: int, output_tokens: int
) -> ReplyDone | ReplyError:
    message_id = str(uuid.uuid4())
    if outcome.kind in ("done", "stopped"):
        return ReplyDone(
            reply_id=reply_id,
            message_id=message_id,
            text=text,
            usage=Usage(input_tokens=input_tokens, output_tokens=output_tokens),
            stopped=outcome.kind == "stopped",
        )
    failure = outcome.failure or Failed("internal", UNAVAILABLE)
    return ReplyError(
        reply_id=reply_id,
        code=failure_code(failure.code),
        message=failure.message,
        message_id=message_id if text else None,
        text=text,
    )


async def _pump(stream: MeteredStream, queue: asyncio.Queue[Item]) -> None:
    async for event in stream:
        queue.put_nowait(("event", event))
    queue.put_nowait(("end", None))
