"""Revoking credentials on every worker: this worker's sockets at once, the other workers'
through the revocation channel, whose listener is one task per worker (started and stopped
by the composition's Lifetime through :meth:`Revoker.running`).

SQL is the authority (the routes commit the revocation before calling :meth:`Revoker.revoke`,
and every handshake checks SQL), so the channel only has to be fast, not perfect: when it
may have missed something (a :class:`RevocationGap`) every socket of this worker is closed
with :attr:`CloseCode.RESTART` and reconnects through a handshake that checks SQL again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from realtime.backends.base import BackendUnavailable
from realtime.backends.cancelling import cancel_and_wait
from realtime.backends.revocations import Revocations
from realtime.revocation import LiveConnections, Revocation, RevocationGap
from realtime.vocabulary import CloseCode

__all__ = ["Revoker"]

log = logging.getLogger(__name__)

#: Revocations whose publishing failed, kept for retrying (the store is down; 1,000 is
#: hours of a school's logouts). Beyond that the oldest is dropped: its SQL change still
#: refuses every handshake, only already-open sockets on other workers stay open.
UNSENT_MAX = 1_000
#: Publishing retries back off from 0.25 s to 5 s.
RETRY_FIRST, RETRY_MAX = 0.25, 5.0
#: After the listener failed unexpectedly (a bug, not an outage: outages are retried
#: inside the channel), listen again this much later.
RELISTEN_SECONDS = 1.0
#: ``running`` waits at most this long for the listener to begin (the Redis channel gives
#: up waiting for the store after 2 s and reports a gap once it answers).
START_SECONDS = 5.0


class Revoker:
    """Closes the sockets a revocation names, on every worker."""

    def __init__(self, channel: Revocations, live: LiveConnections) -> None:
        self.channel = channel
        self.live = live
        self._unsent: deque[Revocation] = deque(maxlen=UNSENT_MAX)
        self._unsent_added = asyncio.Event()

    async def revoke(self, revocation: Revocation) -> int:
        """Close this worker's sockets that ``revocation`` names at once, then publish it
        for the other workers; returns how many were closed here. Call it after the
        revocation is committed in SQL. Never raises for a store outage: the publish is
        retried by the task of :meth:`running`. Cancelling is safe (this worker's sockets
        are closed first; the publish may or may not have happened)."""
        closed = self.live.apply(revocation)
        try:
            await self.channel.publish(revocation)
        except BackendUnavailable as error:
            log.warning("revocation not published yet (%s); retrying", error)
            self._unsent.append(revocation)
            self._unsent_added.set()
        return closed

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Follow the channel for the block, in one task, cancelled and awaited on the way
        out. The block starts once the listener is listening, so a revocation published
        after this worker starts serving reaches it."""
        listening = asyncio.Event()
        task = asyncio.create_task(self._run(listening), name="revocations")
        try:
            try:
                async with asyncio.timeout(START_SECONDS):
                    await listening.wait()
            except TimeoutError:
                log.warning("revocation listener not started after %s s", START_SECONDS)
            yield
        finally:
            await cancel_and_wait(task)
            if self._unsent:
                log.warning("%d revocations never published", len(self._unsent))

    async def _run(self, listening: asyncio.Event) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._follow(listening))
            tasks.create_task(self._republish())

    async def _follow(self, listening: asyncio.Event) -> None:
        again = False
        while True:
            try:
                async with self.channel.listen() as feed:
                    listening.set()
                    if again:
                        self._apply(RevocationGap("the listener failed and started again"))
                    async for item in feed:
                        self._apply(item)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("revocation listener failed; listening again")
            again = True
            await asyncio.sleep(RELISTEN_SECONDS)

    def _apply(self, item: Revocation | RevocationGap) -> None:
        if isinstance(item, RevocationGap):
            count = self.live.revoke_all(CloseCode.RESTART, "re-check credentials")
            log.warning("revocations may be missing (%s): %d sockets reconnect", item.reason, count)
        else:
            self.live.apply(item)

    async def _republish(self) -> None:
        delay = RETRY_FIRST
        while True:
            if not self._unsent:
                self._unsent_added.clear()
                await self._unsent_added.wait()
                delay = RETRY_FIRST
                continue
            revocation = self._unsent[0]
            try:
                await self.channel.publish(revocation)
            except BackendUnavailable:
                await asyncio.sleep(delay)  # backoff while the store is down
                delay = min(delay * 2, RETRY_MAX)
                continue
            except asyncio.CancelledError:
                raise
            except Exception:  # not an outage: retrying cannot help
                log.exception("revocation could not be published; dropped")
            if self._unsent and self._unsent[0] is revocation:
                self._unsent.popleft()
