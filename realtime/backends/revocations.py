"""The deployment's revocation channel, the contract both implementations keep
(:mod:`realtime.backends.memory_revocations`, :mod:`realtime.backends.redis_revocations`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from realtime.revocation import Revocation, RevocationGap

__all__ = ["REVOCATIONS_KEPT", "Revocations"]


#: Revocations the channel keeps for listeners that fell behind (a reconnecting worker).
#: Revocations are rare (a logout, a new join link): 1,000 spans hours of an outage.
REVOCATIONS_KEPT = 1_000


class Revocations(Protocol):
    """The deployment's revocation channel: every listener hears, in order, every
    revocation published after it started listening; or a :class:`RevocationGap` where
    some may be missing. A bounded log, not a queue: nobody acknowledges anything."""

    async def publish(self, revocation: Revocation) -> None:
        """Append ``revocation`` for every listener. Raises BackendUnavailable."""
        ...

    def listen(self) -> AbstractAsyncContextManager[AsyncIterator[Revocation | RevocationGap]]:
        """Revocations published from the moment this is entered on. Entering never waits
        long for the store: one it cannot reach yields a gap once reached. Iterating never
        raises for an outage: it retries, then yields a gap if it may have missed any.
        Leaving (or cancelling) releases the listener's connection; safe to cancel."""
        ...

    async def aclose(self) -> None:
        """Close connections. Safe to call twice."""
        ...
