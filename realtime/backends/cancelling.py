"""Cancellation helpers for the backends' own tasks and for calls into redis-py."""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["cancel_and_wait", "raise_if_cancelling"]


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
