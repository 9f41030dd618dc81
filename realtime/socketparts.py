"""What a session socket is made of, apart from its tasks: the parts it is given by the
process, the transport it speaks through, who is on it, and its rate window (pure)."""

from __future__ import annotations

import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from realtime.budgetreport import BudgetReport
from realtime.config import RealtimeConfig
from realtime.control import SessionControl
from realtime.framecache import FrameCache
from realtime.heartbeat import Heartbeat
from realtime.hub import Hub
from realtime.metrics import NULL_OBSERVER, Observer
from realtime.presence import PresenceBoard
from realtime.sessionlog import SessionLog
from realtime.vocabulary import Role

__all__ = ["Closing", "PeerGone", "Principal", "RateWindow", "SocketParts", "Transport"]


@dataclass(frozen=True, slots=True)
class SocketParts:
    """What a socket needs from its process, built once by the composition."""

    hub: Hub
    log: SessionLog
    presence: PresenceBoard
    report: BudgetReport
    control: SessionControl
    config: RealtimeConfig
    #: The process's one presence heartbeat and orphan sweep: sockets register with it.
    heartbeat: Heartbeat
    observer: Observer = NULL_OBSERVER
    frames: FrameCache = field(default_factory=FrameCache)


class Closing(Exception):
    """Ends a connection's TaskGroup with a close code for the socket (None: the peer
    has gone, nothing to send)."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class PeerGone(Exception):
    """The peer went away mid-send: a normal end of a connection, never an error."""


class Transport(Protocol):
    async def send(self, text: str) -> None:
        """Send one text frame. Raises PeerGone when the peer has gone."""
        ...

    def write_now(self, frame: bytes) -> bool:
        """Put ``frame`` (one whole text frame, :func:`realtime.wsframe.text_frame`) on the
        wire now if the connection takes it without waiting, as :meth:`send` would have;
        False, and nothing written, when it cannot (then :meth:`send` the text). The
        caller sends nothing else meanwhile, so frames keep their order."""
        ...

    async def receive(self) -> str | bytes | None:
        """The next frame, or None once the peer has gone."""
        ...

    async def close(self, code: int, reason: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Principal:
    role: Role
    session_id: uuid.UUID
    user_id: uuid.UUID | None = None  # the teacher, for observers

    @property
    def actor(self) -> str:
        return "student" if self.role is Role.STUDENT else f"teacher:{self.user_id}"


class RateWindow:
    """At most ``count`` events per ``seconds`` (sliding window). Pure; injected time."""

    def __init__(self, count: int, seconds: float) -> None:
        self._count = count
        self._seconds = seconds
        #: Made on first use: an empty deque is ~760 bytes, and a socket has two windows
        #: that most never use (observers never say; few clients see a frame refused).
        self._times: deque[float] | None = None

    def allow(self, now: float) -> bool:
        if self._times is None:
            self._times = deque()
        while self._times and self._times[0] <= now - self._seconds:
            self._times.popleft()
        if len(self._times) >= self._count:
            return False
        self._times.append(now)
        return True
