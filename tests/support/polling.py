"""Waiting for state written soon but announced to no one: the flusher stores a reply's
usage row and token count within about 0.25 s of the reply's end, and no event tells a
test when (:func:`polled`, bounded, for the caller to assert on); a live path runs in
the appender's call, and a background loop's counters move, with nothing to await
(:func:`until`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

#: Between reads: a flush interval is 250 ms, so a few reads per flush.
PAUSE_SECONDS = 0.05


async def polled(
    read: Callable[[], Awaitable[T]], done: Callable[[T], bool], within: float = 10.0
) -> T:
    """``read()`` again until ``done`` holds for what it returns or ``within`` seconds
    pass; the last value read either way (the caller asserts on it)."""
    deadline = time.monotonic() + within
    while True:
        found = await read()
        if done(found) or time.monotonic() > deadline:
            return found
        await asyncio.sleep(PAUSE_SECONDS)  # polling a write already under way


async def until(check: Callable[[], bool], within: float = 10.0, pause: float = 0.01) -> None:
    """Wait until ``check()`` holds (state of this process that nothing announces);
    TimeoutError past ``within`` seconds."""

    async def poll() -> None:
        while not check():  # noqa: ASYNC110 - nothing to await: see the module's docstring
            await asyncio.sleep(pause)

    await asyncio.wait_for(poll(), within)
