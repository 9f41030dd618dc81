"""The pause between passes of a background loop (watchdog, flusher, heartbeat)."""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["nap"]


async def nap(stop: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds``, or less if ``stop`` is set meanwhile; whether it is set."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await stop.wait()
    return stop.is_set()
