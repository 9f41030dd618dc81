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

#: Conversational style presets, the six styles published CBT client simulators use.
ConversationStyle = Literal["plain", "upset", "verbose", "reserved", "tangent", "pleasing"]
STYLES: tuple[ConversationStyle, ...] = (
    "plain",
    "upset",
    "verbose",
    "reserved",
    "tangent",
    "pleasing",
)


@dataclass(frozen=True, slots=True)
class HiddenFact:
    """Something the client keeps back until the student has earned it."""

    #: The teacher's note, in any person ("Their father died four months ago").
    fact: str
    #: How the client would say it, in the first person (optional).
    disclosure: str = ""
    #: Words or themes that make it relevant ("father", "funeral", "grief").
    topics: tuple[str, ...] = ()
    #: The client's trust (0 to 100) it takes before this can come out.
    trust_needed: int = 50
    #: Already told in this session (the app keeps count; providers read it).
    disclosed: bool = False


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
    #: For a reply request, only the facts the app has unlocked so far: a locked fact is
    #: never in a request, so no prompt injection can extract it.
    hidden_facts: tuple[HiddenFact, ...] = ()
    difficulty: int = 3
    opening_line: str = ""
    instructions: str = ""
    style: ConversationStyle = "plain"
    #: Topics the client deflects.
    avoid: tuple[str, ...] = ()
    #: The teacher's private directions for the next replies ("be more irritable").
    directions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Turn:
    """One complete message of the conversation so far."""

    speaker: Speaker
    text: str


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of a plain chat call (:mod:`llm.completion`): the caller's prompt as
    ``user``, a model's earlier answer as ``assistant``."""

    role: Literal["user", "assistant"]
    content: str


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


FailureCode = Literal[
    "unavailable", "rate_limited", "interrupted", "bad_request", "internal", "spend_limit"
]


@dataclass(frozen=True, slots=True)
class Failed:
    """The call failed; ``message`` is safe to show to a student.

    ``retry_after_s`` is the wait the provider asked for (its ``Retry-After`` or
    ``retry-after-ms`` header, see :mod:`llm.retry_after`), set only on a retryable
    failure that carried one; :mod:`llm.retry` waits at least that long or gives up.
    """

    code: FailureCode
    message: str
    retryable: bool = False
    detail: str = field(default="", compare=False)
    retry_after_s: float | None = field(default=None, compare=False)


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
