"""The provider contract: our own request and event types, never SDK objects.

A provider turns a :class:`ReplyRequest` into a stream of :data:`ReplyEvent`
values. Streams are async context managers so that leaving the ``async with``
block (normally, by exception or by cancellation) closes the upstream HTTP
stream at once: no further tokens are generated or billed.

Event order within one stream::

    TextDelta* (Usage)? (Done | Failed)

``Usage`` carries the totals the provider reported for the whole call; a
stream that fails after some usage was reported still yields ``Usage`` before
``Failed`` so that what was really consumed can be charged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Literal, Protocol

Speaker = Literal["student", "client"]


@dataclass(frozen=True, slots=True)
class Persona:
    """What the virtual client is, taken from a client profile plus session instructions."""

    name: str
    age: int | None = None
    pronouns: str = ""
    background: str = ""
    presenting_problem: str = ""
    personality: str = ""
    communication_style: str = ""
    goals: str = ""
    hidden_facts: tuple[str, ...] = ()
    difficulty: int = 3
    opening_line: str = ""
    instructions: str = ""


@dataclass(frozen=True, slots=True)
class Turn:
    """One complete message of the conversation so far."""

    speaker: Speaker
    text: str


@dataclass(frozen=True, slots=True)
class ReplyRequest:
    """Everything a provider needs to produce the client's next reply.

    ``history`` ends with the student's latest message. ``wind_down`` asks the
    client to start closing the conversation in character (budget nearly spent).
    """

    persona: Persona
    history: tuple[Turn, ...]
    max_tokens: int
    model: str | None = None
    wind_down: bool = False
    # Context window of the model in tokens; used to window the history.
    context_tokens: int = 100_000


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int
    output_tokens: int

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class Done:
    stop_reason: str = "end_turn"


FailureCode = Literal["unavailable", "rate_limited", "interrupted", "bad_request", "internal"]


@dataclass(frozen=True, slots=True)
class Failed:
    """The call failed; ``message`` is safe to show to a student."""

    code: FailureCode
    message: str
    retryable: bool = False
    detail: str = field(default="", compare=False)


ReplyEvent = TextDelta | Usage | Done | Failed


class Provider(Protocol):
    """A source of streamed replies. Implementations live beside this module."""

    @property
    def name(self) -> str: ...

    def default_model(self) -> str: ...

    def stream(
        self, request: ReplyRequest
    ) -> AbstractAsyncContextManager[AsyncIterator[ReplyEvent]]:
        """Open a streamed reply.

        Cancelling the task iterating the stream is safe: the context manager's
        exit closes the upstream connection. Provider errors never escape as
        exceptions from iteration; they arrive as a ``Failed`` event.
        """
        ...
