"""The base of every server event: frozen pydantic models that say, per class, whether
the flusher stores them and which sockets receive them (see :mod:`realtime.events`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Sequenced", "ServerModel"]


class ServerModel(BaseModel):
    """Base of every server event."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    SEQUENCED: ClassVar[bool] = False
    #: Class-level durability: flushed to SQL by the flusher. See :attr:`durable`.
    DURABLE: ClassVar[bool] = False
    #: Sent to observing teachers only, never to the student's socket.
    OBSERVERS_ONLY: ClassVar[bool] = False

    @property
    def durable(self) -> bool:
        """Whether the flusher must store this event in SQL: messages (whispers
        included), reply start/stop/done/error/usage, status changes and budget
        warnings. Deltas, plain budget ticks and presence are sequenced but live-only."""
        return self.DURABLE


class Sequenced(ServerModel):
    SEQUENCED: ClassVar[bool] = True
    #: Assigned by the event log; 0 = not yet appended.
    seq: int = Field(default=0, ge=0)
