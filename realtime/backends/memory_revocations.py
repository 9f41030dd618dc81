"""In-process revocation channel: the single-worker default (not a test fake).

A bounded log with a wake-up, like the Redis stream it stands in for: publishing never
waits for listeners, and a listener that falls more than ``kept`` revocations behind
gets a :class:`RevocationGap` instead of a silent loss.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager

from realtime.backends.revocations import REVOCATIONS_KEPT
from realtime.revocation import Revocation, RevocationGap

__all__ = ["MemoryRevocations"]


class MemoryRevocations:
    """See :class:`realtime.backends.revocations.Revocations` for the contract."""

    def __init__(self, *, kept: int = REVOCATIONS_KEPT) -> None:
        if kept < 1:
            raise ValueError("kept must be >= 1")
        self._log: deque[Revocation] = deque(maxlen=kept)
        self._published = 0  # revocations ever published; the log holds the last ones
        self._wake = asyncio.Event()

    async def publish(self, revocation: Revocation) -> None:
        self._log.append(revocation)
        self._published += 1
        # Wake the current waiters, and give later ones a fresh event to wait on.
        wake, self._wake = self._wake, asyncio.Event()
        wake.set()

    @asynccontextmanager
    async def listen(self) -> AsyncIterator[AsyncIterator[Revocation | RevocationGap]]:
        feed = self._follow(self._published)
        try:
            yield feed
        finally:
            await feed.aclose()

    async def _follow(self, cursor: int) -> AsyncGenerator[Revocation | RevocationGap, None]:
        """Everything published after the ``cursor``-th revocation, in order."""
        while True:
            while cursor == self._published:
                await self._wake.wait()
            first = self._published - len(self._log)  # the oldest one still kept
            if cursor < first:
                yield RevocationGap(f"{first - cursor} revocations dropped unread")
                cursor = first
                continue
            revocation = self._log[cursor - first]
            cursor += 1
            yield revocation

    async def aclose(self) -> None:
        return None
