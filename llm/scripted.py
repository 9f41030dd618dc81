"""The offline default provider: a deterministic, persona-aware scripted client.

It needs no network and no key, streams word by word at a configurable rate
and reports usage exactly like a real provider, so the whole product (budgets,
streaming, observers) works in development, demos and tests. What it says is
:func:`llm.scripted_replies.compose_reply`: a small rule-based persona engine.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from llm.base import Done, ReplyEvent, ReplyRequest, TextDelta, Usage
from llm.scripted_replies import compose_reply
from llm.window import estimate_request_tokens

# Above this rate the per-word delay (< 1 ms) is below timer resolution: stream at once.
MAX_PACED_TOKENS_PER_SECOND = 1000.0


class ScriptedProvider:
    """A provider that answers from the profile and phrase pools instead of a model.

    One streamed token is one word: ``Usage.output_tokens`` is the number of
    words streamed and ``max_tokens`` caps it (``Done("max_tokens")``).
    ``Usage.input_tokens`` is :func:`llm.window.estimate_request_tokens`.
    """

    def __init__(
        self,
        tokens_per_second: float = 20.0,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """``tokens_per_second`` of 0 (or above 1000) streams without delay."""
        self._delay = (
            0.0
            if tokens_per_second <= 0 or tokens_per_second > MAX_PACED_TOKENS_PER_SECOND
            else 1.0 / tokens_per_second
        )
        self._sleep = sleep

    @property
    def name(self) -> str:
        return "scripted"

    def default_model(self) -> str:
        return "scripted"

    @asynccontextmanager
    async def stream(self, request: ReplyRequest) -> AsyncIterator[AsyncIterator[ReplyEvent]]:
        """Stream the scripted reply to ``request``.

        Cancelling is safe: there is no connection to close and nothing is
        reported for a cancelled stream. Never raises; yields no ``Failed``.
        """
        events = self._events(request)
        try:
            yield events
        finally:
            await events.aclose()

    async def _events(self, request: ReplyRequest) -> AsyncGenerator[ReplyEvent, None]:
        words = compose_reply(request).split()
        limit = max(0, request.max_tokens)
        streamed = words[:limit]
        for index, word in enumerate(streamed):
            if self._delay:
                await self._sleep(self._delay)
            yield TextDelta(word if index == 0 else " " + word)
        yield Usage(input_tokens=estimate_request_tokens(request), output_tokens=len(streamed))
        yield Done("max_tokens" if len(words) > limit else "end_turn")
