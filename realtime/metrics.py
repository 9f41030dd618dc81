"""What the realtime parts report for monitoring, as a small :class:`Observer` protocol.

The web process implements it with Prometheus counters (``server.metrics``); realtime
code only calls these methods, so it imports no monitoring library. Every method is
called on the event loop, must be quick, must not await and must not raise.
"""

from __future__ import annotations

from typing import Protocol

from llm.metrics import CallRecord
from realtime.vocabulary import Role

__all__ = ["NULL_OBSERVER", "NullObserver", "Observer"]


class Observer(Protocol):
    def socket_opened(self, role: Role) -> None: ...

    def socket_closed(self, role: Role) -> None: ...

    def frame_sent(self, *, direct: bool = False) -> None:
        """A frame went to a session socket; ``direct``: written straight to the
        transport, not through the socket's writer (see :mod:`realtime.outbox`)."""
        ...

    def slow_consumer_dropped(self) -> None:
        """A socket closed with 4008 because its send queue stayed full."""
        ...

    def reply_recorded(self, record: CallRecord) -> None:
        """One provider call of a reply has ended, however it ended."""
        ...

    def budget_refused(self) -> None:
        """A say was refused because the token budget cannot pay for a reply."""
        ...

    def session_expired(self, reason: str) -> None:
        """The watchdog expired a session (``time``, ``idle`` or ``tokens``)."""
        ...

    def replies_waiting(self, count: int) -> None:
        """Replies admitted on this worker and not streaming yet (queued for a slot)."""
        ...

    def say_busy(self) -> None:
        """A say was refused ``busy``: the worker's reply slots and queue were full."""
        ...


class NullObserver:
    """Reports nowhere: the default for parts built without monitoring (tests, tools)."""

    def socket_opened(self, role: Role) -> None:
        pass

    def socket_closed(self, role: Role) -> None:
        pass

    def frame_sent(self, *, direct: bool = False) -> None:
        pass

    def slow_consumer_dropped(self) -> None:
        pass

    def reply_recorded(self, record: CallRecord) -> None:
        pass

    def budget_refused(self) -> None:
        pass

    def session_expired(self, reason: str) -> None:
        pass

    def replies_waiting(self, count: int) -> None:
        pass

    def say_busy(self) -> None:
        pass


NULL_OBSERVER: Observer = NullObserver()
