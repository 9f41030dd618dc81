"""A plain call for callers that want a whole answer, not a reply to stream on: a system
prompt and messages in, the answer's text and its usage out (the LLM grader's call).

It streams through the providers' own HTTP code (``AnthropicProvider.chat``,
``OpenAIProvider.chat``), so errors are translated into the same :class:`Failed` codes
as a client reply's, and failures worth another try (429, overloaded, 5xx, connection
errors before any text) are retried with the same :class:`RetryPolicy` delays, honouring
a provider's ``Retry-After`` the same way (:meth:`RetryPolicy.wait_before`: waited out up
to ``max_delay_s`` in total, else the call ends with that failure at once). Nothing
streamed is shown to anyone, so the text is only kept, never yielded.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Literal, Protocol

from llm.base import ChatMessage, Done, Failed, ReplyEvent, TextDelta, Usage
from llm.errors import failure_for_transport
from llm.retry import RetryPolicy

__all__ = [
    "ChatMessage",
    "Completer",
    "CompleterKind",
    "Completion",
    "CompletionRequest",
    "complete",
    "make_completer",
]

CompleterKind = Literal["anthropic", "openai"]


class Completer(Protocol):
    """What :func:`complete` needs of a provider (both HTTP providers have it)."""

    @property
    def name(self) -> str: ...

    def default_model(self) -> str: ...

    def chat(
        self, system: str, messages: Sequence[ChatMessage], *, model: str | None, max_tokens: int
    ) -> AbstractAsyncContextManager[AsyncIterator[ReplyEvent]]: ...

    async def aclose(self) -> None:
        """Release pooled connections; safe to call twice."""
        ...


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    system: str
    messages: tuple[ChatMessage, ...]
    max_tokens: int
    #: None: the completer's default model.
    model: str | None = None


@dataclass(frozen=True, slots=True)
class Completion:
    """One call's answer (or its failure) and what it cost, over every attempt.

    ``usage`` is what the provider reported (the OpenAI-compatible provider estimates
    it when the server reports nothing), added up over retried attempts; zero when
    nothing was reported. ``failed`` is None when the answer arrived whole."""

    text: str
    usage: Usage
    provider: str
    model: str
    attempts: int
    duration_ms: int
    time_to_first_token_ms: int | None
    failed: Failed | None = None
    stop_reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.failed is None


async def complete(
    completer: Completer,
    request: CompletionRequest,
    *,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rand: Callable[[], float] = random.random,
    clock: Callable[[], float] = time.monotonic,
) -> Completion:
    """Ask ``completer`` and wait for the whole answer.

    Never raises for a provider's failure: it is in ``Completion.failed`` (the last
    attempt's, after the retries). Cancelling is safe: the open HTTP stream is closed on
    the way out and nothing is left running. ``sleep``, ``rand`` and ``clock`` are
    injectable so tests need not wait."""
    policy = retry or RetryPolicy()
    model = request.model or completer.default_model()
    started = clock()
    first: float | None = None
    input_tokens = output_tokens = 0
    attempt = 0
    waited_s = 0.0
    text: list[str] = []
    outcome: Done | Failed | None = None
    for attempt in range(1, policy.max_retries + 2):
        text, outcome = [], None
        async with completer.chat(
            request.system, request.messages, model=model, max_tokens=request.max_tokens
        ) as events:
            async for event in events:
                if isinstance(event, TextDelta):
                    first = clock() if first is None else first
                    text.append(event.text)
                elif isinstance(event, Usage):
                    input_tokens += event.input_tokens
                    output_tokens += event.output_tokens
                else:
                    outcome = event
                    break
        if outcome is None:
            outcome = failure_for_transport(
                "provider stream ended without Done or Failed", text_streamed=bool(text)
            )
        if isinstance(outcome, Failed) and outcome.retryable and attempt <= policy.max_retries:
            wait = policy.wait_before(
                attempt, rand(), retry_after_s=outcome.retry_after_s, waited_s=waited_s
            )
            if wait is not None:
                waited_s += wait
                await sleep(wait)
                continue
        break
    return Completion(
        text="".join(text),
        usage=Usage(input_tokens, output_tokens),
        provider=completer.name,
        model=model,
        attempts=attempt,
        duration_ms=_ms(clock() - started),
        time_to_first_token_ms=None if first is None else _ms(first - started),
        failed=outcome if isinstance(outcome, Failed) else None,
        stop_reason=outcome.stop_reason if isinstance(outcome, Done) else None,
    )


def make_completer(
    kind: CompleterKind,
    *,
    model: str | None = None,
    anthropic_api_key: str | None = None,
    anthropic_base_url: str | None = None,
    openai_api_key: str | None = None,
    openai_base_url: str | None = None,
    timeout: float = 60.0,
) -> Completer:
    """The HTTP provider for ``kind`` (its SDK imported only now), without the retry
    wrapper: :func:`complete` retries. The caller owns it and closes it (``aclose``).

    Raises ``ValueError`` for an unknown kind or a missing key or base URL, as
    :func:`llm.factory.make_provider` does."""
    if kind == "anthropic":
        if not anthropic_api_key:
            raise ValueError("GRADER_PROVIDER=anthropic needs ANTHROPIC_API_KEY")
        from llm.anthropic import DEFAULT_ANTHROPIC_MODEL, AnthropicProvider

        return AnthropicProvider(
            anthropic_api_key,
            base_url=anthropic_base_url or None,
            default_model=model or DEFAULT_ANTHROPIC_MODEL,
            timeout=timeout,
        )
    if kind == "openai":
        if not openai_base_url:
            raise ValueError("GRADER_PROVIDER=openai needs OPENAI_BASE_URL")
        from llm.openai import DEFAULT_OPENAI_MODEL, OpenAIProvider

        return OpenAIProvider(
            openai_base_url,
            api_key=openai_api_key or None,
            default_model=model or DEFAULT_OPENAI_MODEL,
            timeout=timeout,
        )
    raise ValueError(f"unknown grader provider kind: {kind!r}")


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))
