"""One :class:`CallRecord` per provider call, for the API-usage table.

Wrap a provider call in :func:`measure` instead of calling ``stream`` directly.
The record is produced when the ``async with`` block is left, however it is
left (normal end, ``break``, exception or task cancellation), and handed to
``on_record``; it is also available afterwards as ``stream.record``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

from llm.base import Done, Failed, Provider, ReplyEvent, ReplyRequest, TextDelta, Usage
from llm.retry import ReplyStream
from llm.window import estimate_request_tokens, estimate_tokens

Outcome = Literal["ok", "stopped", "failed", "cancelled"]


@dataclass(frozen=True, slots=True)
class CallRecord:
    """What one reply cost and how it went.

    ``outcome``: ``ok`` (``Done`` arrived), ``failed`` (``Failed`` arrived),
    ``cancelled`` (the consuming task was cancelled), ``stopped`` (the block
    was left early any other way). Tokens are the provider's reported usage;
    when a stream was cut short by the caller after text had arrived and no
    usage was reported, they are estimates and ``usage_estimated`` is true.
    """

    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    time_to_first_token_ms: int | None
    duration_ms: int
    outcome: Outcome
    attempts: int
    stop_reason: str | None = None
    failure_code: str | None = None
    usage_estimated: bool = False


class MeteredStream:
    """The events of one call, observed on their way to the caller."""

    def __init__(
        self, events: AsyncIterator[ReplyEvent], clock: Callable[[], float], started: float
    ) -> None:
        self._events = events
        self._clock = clock
        self._started = started
        self._first_token: float | None = None
        self._text_chars: list[str] = []
        self.usage: Usage | None = None
        self.terminal: Done | Failed | None = None
        self.record: CallRecord | None = None

    def __aiter__(self) -> MeteredStream:
        return self

    async def __anext__(self) -> ReplyEvent:
        event = await self._events.__anext__()
        if isinstance(event, TextDelta):
            if self._first_token is None:
                self._first_token = self._clock()
            self._text_chars.append(event.text)
        elif isinstance(event, Usage):
            self.usage = event
        else:
            self.terminal = event
        return event

    def finish(
        self, request: ReplyRequest, provider: str, model: str, *, cancelled: bool
    ) -> CallRecord:
        """Build the record; called once by :func:`measure`. Never raises."""
        outcome: Outcome
        if isinstance(self.terminal, Done):
            outcome = "ok"
        elif isinstance(self.terminal, Failed):
            outcome = "failed"
        else:
            outcome = "cancelled" if cancelled else "stopped"
        estimated = False
        if self.usage is not None:
            input_tokens, output_tokens = self.usage.input_tokens, self.usage.output_tokens
        elif self._text_chars and outcome != "failed":
            # Text arrived, so the model ran: charge an estimate of what it consumed.
            input_tokens = estimate_request_tokens(request)
            output_tokens = estimate_tokens("".join(self._text_chars))
            estimated = True
        else:
            input_tokens = output_tokens = 0
        first = self._first_token
        self.record = CallRecord(
            provider=provider,
            model=model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            time_to_first_token_ms=None if first is None else _ms(first - self._started),
            duration_ms=_ms(self._clock() - self._started),
            outcome=outcome,
            attempts=self._events.attempts if isinstance(self._events, ReplyStream) else 1,
            stop_reason=self.terminal.stop_reason if isinstance(self.terminal, Done) else None,
            failure_code=self.terminal.code if isinstance(self.terminal, Failed) else None,
            usage_estimated=estimated,
        )
        return self.record


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))


@asynccontextmanager
async def measure(
    provider: Provider,
    request: ReplyRequest,
    *,
    on_record: Callable[[CallRecord], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[MeteredStream]:
    """``provider.stream(request)``, metered: yields the events, records the call.

    On exit ``on_record(record)`` is called exactly once, also when the task is
    cancelled (it then runs during cancellation, so it must be quick, must not
    await and should not raise: e.g. append to a list or ``put_nowait`` to a
    queue that a flusher writes to the database). Cancelling is safe; the
    provider's stream is closed before the record is made. Raises only what
    the ``async with`` body raises (and whatever ``on_record`` raises).
    """
    model = request.model or provider.default_model()
    metered: MeteredStream | None = None
    cancelled = False
    started = clock()
    try:
        async with provider.stream(request) as events:
            metered = MeteredStream(events, clock, started)
            try:
                yield metered
            except asyncio.CancelledError:
                cancelled = True
                raise
    finally:
        if metered is not None:
            record = metered.finish(request, provider.name, model, cancelled=cancelled)
            if on_record is not None:
                on_record(record)
