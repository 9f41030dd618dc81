"""One reply: stream it from the provider into the log, coalesced, until it is done,
fails, or is stopped from anywhere; then settle the budget and record the call.

Three tasks share a queue: the provider pump, the stop watcher (it follows the session
log, so a ``stop`` on any worker reaches us), and the lock keeper. The loop below only
moves data: coalescing rules are in :class:`DeltaCoalescer`, budget rules in the ledger.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from llm.base import Done, Failed, ReplyEvent, ReplyRequest, TextDelta
from llm.base import Usage as LlmUsage
from llm.metrics import CallRecord, MeteredStream, measure
from realtime.coalesce import DeltaCoalescer
from realtime.control import BUDGET_ACTOR
from realtime.lifecycle import SessionStatus
from realtime.protocol import (
    BudgetEvent,
    ReplyDelta,
    ReplyDone,
    ReplyError,
    ServerModel,
    Usage,
)
from storage.repos import sessions as session_repo
from storage.repos import usage as usage_repo

if TYPE_CHECKING:
    from realtime.hub import Hub

log = logging.getLogger(__name__)

Item = (
    tuple[Literal["event"], ReplyEvent] | tuple[Literal["end"], None] | tuple[Literal["stop"], str]
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


async def run_reply(hub: Hub, job: ReplyJob) -> None:
    """Stream one reply. Cancelling (server shutdown) is safe: the partial reply is
    recorded as interrupted, the budget settled and the lock released."""
    coalescer = DeltaCoalescer()
    records: list[CallRecord] = []
    outcome = Outcome("failed", Failed("internal", UNAVAILABLE))
    exhausted = False
    try:
        outcome = await _stream(hub, job, coalescer, records)
    except asyncio.CancelledError:
        outcome = Outcome("failed", Failed("interrupted", "The server restarted mid-reply."))
        raise
    except Exception:
        log.exception("reply %s failed", job.reply_id)
    finally:
        try:
            exhausted = await _finish(hub, job, coalescer, records, outcome)
        finally:
            # Normally released already (right after the end was logged); this covers a
            # failure before that point. Compare-and-delete makes it safe to repeat.
            await hub.backend.release_reply(str(job.session_id), job.reply_id)
    if exhausted:
        await hub.control.expire(job.session_id, "tokens", actor=BUDGET_ACTOR)


async def _stream(
    hub: Hub, job: ReplyJob, coalescer: DeltaCoalescer, records: list[CallRecord]
) -> Outcome:
    queue: asyncio.Queue[Item] = asyncio.Queue()
    outcome = Outcome("done")
    async with (
        measure(hub.provider, job.request, on_record=records.append) as stream,
        asyncio.TaskGroup() as tasks,
    ):
        helpers = [
            tasks.create_task(_pump(stream, queue)),
            tasks.create_task(_watch_stop(hub, job, queue)),
            tasks.create_task(_keep_lock(hub, job)),
        ]
        try:
            outcome = await _consume(hub, job, coalescer, queue, stream)
        finally:
            for helper in helpers:
                helper.cancel()
    return outcome


async def _consume(
    hub: Hub,
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
            await _send_text(hub, job, coalescer.due(time.monotonic()))
            continue
        if item[0] == "stop":
            return Outcome("stopped", usage=stream.usage)
        if item[0] == "end":
            return outcome
        event = item[1]
        if isinstance(event, TextDelta):
            await _send_text(hub, job, coalescer.feed(event.text, time.monotonic()))
        elif isinstance(event, LlmUsage):
            outcome.usage = event
        elif isinstance(event, Failed):
            outcome = Outcome("failed", event, outcome.usage)
        elif isinstance(event, Done):
            outcome.kind = "done"


async def _send_text(hub: Hub, job: ReplyJob, text: str | None) -> None:
    if text:
        await hub.publish(job.session_id, [ReplyDelta(reply_id=job.reply_id, text=text)])


async def _pump(stream: MeteredStream, queue: asyncio.Queue[Item]) -> None:
    async for event in stream:
        queue.put_nowait(("event", event))
    queue.put_nowait(("end", None))


async def _watch_stop(hub: Hub, job: ReplyJob, queue: asyncio.Queue[Item]) -> None:
    """Follow the log: a ``reply.stop`` for this reply, or the session leaving ``active``,
    ends the stream. Costs no extra Redis command (one shared reader per worker)."""
    sid = str(job.session_id)
    async with hub.backend.subscribe(sid, max(job.start_seq - 1, 0)) as events:
        async for event in events:
            kind = event.get("type")
            if kind == "reply.stop" and event.get("reply_id") == job.reply_id:
                queue.put_nowait(("stop", str(event.get("by", "student"))))
                return
            if kind == "status" and event.get("status") != SessionStatus.ACTIVE:
                queue.put_nowait(("stop", "status"))
                return


async def _keep_lock(hub: Hub, job: ReplyJob) -> None:
    period = hub.config.reply_lock_seconds / 3
    while True:
        await asyncio.sleep(period)
        await hub.backend.refresh_reply(
            str(job.session_id), job.reply_id, hub.config.reply_lock_seconds
        )


async def _finish(
    hub: Hub,
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
    tail = coalescer.finish()
    events: list[ServerModel] = []
    if tail:
        events.append(ReplyDelta(reply_id=job.reply_id, text=tail))
    text = coalescer.text
    message_id = str(uuid.uuid4())
    usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens)
    if outcome.kind in ("done", "stopped"):
        events.append(
            ReplyDone(
                reply_id=job.reply_id,
                message_id=message_id,
                text=text,
                usage=usage,
                stopped=outcome.kind == "stopped",
            )
        )
    else:
        failure = outcome.failure or Failed("internal", UNAVAILABLE)
        events.append(
            ReplyError(
                reply_id=job.reply_id,
                code=failure.code,
                message=failure.message,
                message_id=message_id if text else None,
                text=text,
            )
        )
    sid = str(job.session_id)
    settled = await hub.budgets.settle(sid, job.reply_id, input_tokens, output_tokens)
    tick = BudgetEvent(
        tokens_used=settled.used,
        token_budget=settled.budget,
        seconds_left=await _seconds_left(hub, job),
    )
    events.append(tick)
    # Each threshold crossed (80%, 95%) once: a durable warning the flusher audits.
    events += [
        tick.model_copy(update={"warning": "tokens_low", "percent": level})
        for level in settled.crossed
    ]
    try:
        await hub.publish(job.session_id, events)
    finally:
        # Released as soon as the end is in the log, so the next say can start at once.
        await hub.backend.release_reply(sid, job.reply_id)
    await _record(hub, job, record, settled.used)
    return settled.budget - settled.used < job.input_estimate + hub.config.min_reply_tokens


async def _seconds_left(hub: Hub, job: ReplyJob) -> float | None:
    """For the budget tick; None when the database cannot say right now (the reply's
    end must reach the log whatever SQL is doing)."""
    try:
        session = await hub.load(job.session_id)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.warning("no time left for %s: database unavailable", job.session_id)
        return None
    return hub.seconds_left(session)


async def _record(hub: Hub, job: ReplyJob, record: CallRecord | None, tokens_used: int) -> None:
    """One SQL transaction per reply: the API-usage row and the session's token count."""
    try:
        async with hub.db.session() as s:
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
