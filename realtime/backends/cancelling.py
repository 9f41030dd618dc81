"""Cancellation helpers for the backends' own tasks and for calls into redis-py."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

__all__ = ["cancel_and_wait", "finish_despite_cancel", "raise_if_cancelling"]


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait for it to end; its own CancelledError is swallowed, but a
    cancellation aimed at the caller (while waiting) is re-raised."""
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise


def raise_if_cancelling() -> None:
    """Re-raise a cancellation that a library swallowed.

    CPython 3.11's ``asyncio.wait_for`` drops a cancel that lands as its inner future
    completes (gh-86296, fixed in 3.12); redis-py wraps socket writes in it, so a cancelled
    task can come back from a Redis call as if nothing happened and then wait forever.
    A task still counting a cancel request while running normal code is in that state.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def finish_despite_cancel(closing: Awaitable[None]) -> None:
    """Run ``closing`` to its end even when the caller is cancelled meanwhile, then
    re-raise that cancel.

    For closes that must not stop halfway: redis-py's ``Redis.aclose`` forgets its
    connection before its first await and closes the socket only after it, so a cancel
    landing there leaves an open socket that nothing refers to. The garbage collector
    finds it later, often after the test's loop has closed (an "unclosed Connection"
    ResourceWarning, which failed about one CI run in three).
    """
    work = asyncio.ensure_future(closing)
    cancelled = False
    while True:
        try:
            await asyncio.shield(work)
            break
        except asyncio.CancelledError:
            if work.done():
                raise  # the close itself was cancelled, not us
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
