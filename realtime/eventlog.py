"""Resume rules of the per-session event log (pure, no I/O).

The log gives every sequenced event a per-session ``seq`` rising by one, keeps a bounded
window of recent events and is stamped with an ``epoch``: a random token minted whenever
the live log is (re)created, e.g. after Redis lost its data and the seq counter restarted
from the highest seq SQL had. A client resuming with ``?after=N`` either gets exactly the
events after N, or an explicit :class:`ResumeGap` that the server turns into a
``resume.failed`` frame ("cannot resume, reload"), Zulip/Centrifugo style. Never a silent gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

GapReason = Literal["trimmed", "epoch_changed", "ahead"]


@dataclass(frozen=True, slots=True)
class LogInfo:
    """Where a session's live log stands.

    ``first_seq`` is the oldest retained seq; when nothing is retained it is
    ``last_seq + 1``, so "everything after ``first_seq - 1`` is available" always holds.
    """

    epoch: str
    last_seq: int
    first_seq: int

    def __post_init__(self) -> None:
        if self.last_seq < 0 or not 1 <= self.first_seq <= self.last_seq + 1:
            raise ValueError(f"inconsistent log info {self!r}")


@dataclass(frozen=True, slots=True)
class Replay:
    """Send events ``after + 1 .. upto`` from the log, then live events above ``upto``."""

    after: int
    upto: int


@dataclass(frozen=True, slots=True)
class UpToDate:
    """The client has everything; send live events above ``last_seq``."""

    last_seq: int


@dataclass(frozen=True, slots=True)
class ResumeGap:
    """The asked-for point is gone; the client must reload (reconnect without ``after``)."""

    reason: GapReason
    after: int
    first_seq: int
    last_seq: int
    epoch: str

    @property
    def message(self) -> str:
        if self.reason == "trimmed":
            return (
                f"events after {self.after} are no longer kept "
                f"(oldest kept is {self.first_seq}); reload"
            )
        if self.reason == "epoch_changed":
            return "the live log was rebuilt since you connected; reload"
        return f"seq {self.after} is ahead of the log (last is {self.last_seq}); reload"


ResumeDecision = Replay | UpToDate | ResumeGap


def decide_resume(after: int, client_epoch: str | None, log: LogInfo) -> ResumeDecision:
    """Decide how to serve a client that has seen every event up to ``after``.

    ``client_epoch`` is the epoch the client got in ``welcome`` (optional, but clients should
    send it: without it a rebuilt log that already passed the client's ``after`` cannot be
    told apart from the original one). Raises ValueError if ``after`` is negative.
    """
    if after < 0:
        raise ValueError("after must be >= 0")
    if client_epoch is not None and client_epoch != log.epoch:
        return ResumeGap("epoch_changed", after, log.first_seq, log.last_seq, log.epoch)
    if after > log.last_seq:
        return ResumeGap("ahead", after, log.first_seq, log.last_seq, log.epoch)
    if after == log.last_seq:
        return UpToDate(log.last_seq)
    if after + 1 < log.first_seq:
        return ResumeGap("trimmed", after, log.first_seq, log.last_seq, log.epoch)
    return Replay(after, log.last_seq)


def check_continuity(expected_seq: int, got_seq: int) -> None:
    """Raise :class:`LogGapError` unless ``got_seq`` is the next seq a reader expects.

    Readers call it on every event they hand out, so a trimmed window or a rebuilt log can
    never show up as a silent gap.
    """
    if got_seq != expected_seq:
        raise LogGapError(
            "trimmed" if got_seq > expected_seq else "epoch_changed", expected_seq - 1
        )


class LogGapError(Exception):
    """A reader cannot continue without a gap: the client must reload.

    Raised by subscriptions when events it still needed were trimmed (``trimmed``) or the log
    was rebuilt under it (``epoch_changed``).
    """

    def __init__(self, reason: GapReason, after: int) -> None:
        super().__init__(f"cannot continue after seq {after}: {reason}")
        self.reason: GapReason = reason
        self.after = after


def parse_after(raw: str | None) -> int | None:
    """The ``after`` query parameter: ``None`` when absent. Raises ValueError when it is not
    a non-negative decimal integer of at most 18 digits."""
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise ValueError("after must be a non-negative integer")
    return int(raw)
