"""The tasks around one streaming reply, feeding the runner's queue
(:mod:`realtime.conversation`): the provider pump, the stop watcher and the lease keeper,
and the wait for a slot that a stop can cut short."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Literal

from llm.base import ReplyEvent
from llm.metrics import MeteredStream
from realtime.backends import RealtimeBackend
from realtime.events import ReplyStop, SequencedEvent, StatusEvent
from realtime.lifecycle import SessionStatus
from realtime.replyslots import Ticket
from realtime.sessionlog import SessionLog

log = logging.getLogger(__name__)

__all__ = ["Item", "keep_lease", "pump_stream", "slot_or_stop", "watch_stop"]

Item = (
    tuple[Literal["event"], ReplyEvent] | tuple[Literal["end"], None] | tuple[Literal["stop"], None]
)


async def pump_stream(stream: MeteredStream, queue: asyncio.Queue[Item]) -> None:
    """Read the model's stream as its chunks arrive, in a task of its own. Not the reply
    loop's own reads, though they cost 2-8 us less a chunk (one task step, not two): once
    a connection fails, aiohttp raises on the next read before handing out what it had
    buffered, so a loop that logs each chunk before reading the next lost the text that
    arrived meanwhile ("was saying " of a reply reset mid-stream,
    tests/hardening/test_money_faults.py)."""
    async for event in stream:
        queue.put_nowait(("event", event))
    queue.put_nowait(("end", None))


async def watch_stop(
    session_log: SessionLog,
    session_id: uuid.UUID,
    reply_id: str,
    after: int,
    queue: asyncio.Queue[Item],
) -> None:
    """Follow the log past ``after``: a stop asked for this reply, or the session leaving
    ``active``, ends the stream (also when logged before the reply's start, while its
    say prepared). Costs no extra Redis command (one shared reader per worker), and no
    task step per delta: live events are looked at as they are logged."""
    stopped = False

    def look(event: SequencedEvent) -> bool:
        nonlocal stopped
        if not stopped and _ends_reply(event, reply_id):
            stopped = True
            queue.put_nowait(("stop", None))
        return True

    async with session_log.subscribe(session_id, max(after, 0)) as events:
        events.deliver(look)
        async for event in events:  # what was logged before it caught up
            look(event)


def _ends_reply(event: SequencedEvent, reply_id: str) -> bool:
    match event:
        case ReplyStop():
            return event.reply_id == reply_id
        case StatusEvent():
            return event.status is not SessionStatus.ACTIVE
    return False


async def keep_lease(
    backend: RealtimeBackend,
    session_id: uuid.UUID,
    reply_id: str,
    lease: float,
    queue: asyncio.Queue[Item],
    leased_at: float | None = None,
) -> None:
    """Renew the reply's lease every quarter of it, queued for a slot or streaming, the
    first time a quarter after ``leased_at`` (``time.monotonic`` before the lease was taken
    or last renewed; None: at once). A lease found lost (this process stalled past it, and
    the next say may already run) stops the reply: two replies must never stream at once."""
    if leased_at is not None:
        await asyncio.sleep(leased_at + lease / 4 - time.monotonic())
    while True:
        if not await backend.refresh_reply(str(session_id), reply_id, lease):
            log.warning("reply %s lost its lease; stopping it", reply_id)
            queue.put_nowait(("stop", None))
            return
        await asyncio.sleep(lease / 4)


async def slot_or_stop(ticket: Ticket, queue: asyncio.Queue[Item]) -> bool:
    """Wait for a slot unless a stop comes first (before the call, the queue holds
    nothing but stops); True when the slot is held, False (and no slot) when stopped.
    Raises QueueWaitExceeded. Cancelling is safe (the place is given up)."""
    if not queue.empty():
        ticket.release()
        return False
    if ticket.acquire_now():
        return True
    slot = asyncio.create_task(ticket.acquire(), name="reply-slot")
    stop = asyncio.create_task(queue.get(), name="reply-slot-stop")
    try:
        await asyncio.wait([slot, stop], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (slot, stop):
            task.cancel()
        # Both end before we go on: a cancelled wait gives its place up first.
        await asyncio.wait([slot, stop])
    if stop.done() and not stop.cancelled():
        ticket.release()  # also a slot granted at the same moment
        return False
    slot.result()  # QueueWaitExceeded
    return True
