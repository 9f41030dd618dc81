"""Bounded retries with jittered exponential backoff, before the first token only.

A reply that has started streaming is never retried: the student has already
seen part of it, and a second attempt would say something else. Failures
before the first token that are worth another try (429, overloaded, 5xx,
connection errors, timeouts; ``Failed.retryable``) are retried up to
``RetryPolicy.max_retries`` times.

When the provider said how long to wait (``Failed.retry_after_s``, from its
``Retry-After`` / ``retry-after-ms`` header) the wait is at least that; when honouring it
would make the call's backoff exceed ``RetryPolicy.max_delay_s`` in total, the call
gives up at once with the provider's own failure (``rate_limited``: "busy, try again in a
moment") instead of keeping the student staring at a reply that has not started.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from llm.base import Done, Failed, Provider, ReplyEvent, ReplyRequest, TextDelta, Usage
from llm.errors import MESSAGES, failure_for_transport


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently to retry.

    Defaults: 2 retries (3 attempts) with delays drawn from [0.25, 0.5] s then
    [0.5, 1] s: a student waits at most ~1.5 s extra before seeing "try again",
    and an overloaded API gets breathing room between attempts.
    """

    max_retries: int = 2
    base_delay_s: float = 0.5
    # Caps the exponential growth if max_retries is raised, and the total backoff of one
    # call once a provider asks for a wait (Retry-After): a reply not even started after
    # 8 s is worse for a student than a clear "the client is busy, try again" (a 429's
    # Retry-After is typically 1-60 s; the short ones are waited out, the long ones not).
    max_delay_s: float = 8.0

    def delay(self, retry_number: int, rand: float) -> float:
        """Seconds to wait before retry ``retry_number`` (1-based); ``rand`` in [0, 1).

        "Equal jitter": half the exponential step is fixed, half random, so
        clients that failed together do not retry together.
        """
        step = min(self.max_delay_s, self.base_delay_s * 2.0 ** (retry_number - 1))
        return step / 2 + step / 2 * rand

    def wait_before(
        self, retry_number: int, rand: float, *, retry_after_s: float | None, waited_s: float
    ) -> float | None:
        """Seconds to wait before retry ``retry_number``, or None to give up now.

        Without provider advice this is :meth:`delay`. With it (``retry_after_s``) the
        wait is ``max(delay, retry_after_s)``, unless ``waited_s`` (backoff already slept
        in this call) plus that wait exceeds ``max_delay_s``: then None.
        """
        own = self.delay(retry_number, rand)
        if retry_after_s is None:
            return own
        wait = max(own, retry_after_s)
        return wait if waited_s + wait <= self.max_delay_s else None


class ReplyStream:
    """The async iterator a :class:`RetryingProvider` stream yields.

    ``attempts`` is how many upstream calls have been started so far;
    :func:`llm.metrics.measure` copies it into the :class:`CallRecord`.
    """

    def __init__(self) -> None:
        self.attempts = 0
        self._events: AsyncGenerator[ReplyEvent, None] | None = None

    def __aiter__(self) -> ReplyStream:
        return self

    async def __anext__(self) -> ReplyEvent:
        assert self._events is not None, "ReplyStream used outside its provider's stream()"
        return await self._events.__anext__()


class RetryingProvider:
    """Wraps a provider with :class:`RetryPolicy` retries.

    ``sleep`` and ``rand`` are injectable so tests need not wait. Usage that
    failed attempts reported is added to the final ``Usage`` (it was really
    consumed); nothing beyond what was reported is charged.
    """

    def __init__(
        self,
        inner: Provider,
        policy: RetryPolicy | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._inner = inner
        self._policy = policy or RetryPolicy()
        self._sleep = sleep
        self._rand = rand

    @property
    def name(self) -> str:
        return self._inner.name

    def default_model(self) -> str:
        return self._inner.default_model()

    @property
    def inner(self) -> Provider:
        return self._inner

    async def aclose(self) -> None:
        """Close the wrapped provider's connections, if it has any."""
        closer = getattr(self._inner, "aclose", None)
        if closer is not None:
            await closer()

    @asynccontextmanager
    async def stream(self, request: ReplyRequest) -> AsyncIterator[ReplyStream]:
        """Stream a reply, retrying failed attempts that produced no text.

        Cancelling is safe, including during a backoff sleep: the current
        attempt's stream is closed on exit. After the retries are exhausted
        the stream ends with ``Failed("unavailable")`` and the human message
        "The client is unavailable right now, try again". When the provider asks
        for a wait the policy does not allow, it ends at once with the provider's
        failure as it came (usually ``rate_limited``). Never raises.
        """
        stream = ReplyStream()
        events = self._events(request, stream)
        stream._events = events
        try:
            yield stream
        finally:
            await events.aclose()

    async def _events(
        self, request: ReplyRequest, stream: ReplyStream
    ) -> AsyncGenerator[ReplyEvent, None]:
        input_tokens = output_tokens = 0
        usage_seen = False
        waited_s = 0.0
        max_attempts = self._policy.max_retries + 1
        for attempt in range(1, max_attempts + 1):
            stream.attempts = attempt
            text_streamed = False
            outcome: Done | Failed | None = None
            async with self._inner.stream(request) as events:
                async for event in events:
                    if isinstance(event, TextDelta):
                        text_streamed = True
                        yield event
                    elif isinstance(event, Usage):
                        usage_seen = True
                        input_tokens += event.input_tokens
                        output_tokens += event.output_tokens
                    else:
                        outcome = event
                        break
            if outcome is None:
                outcome = failure_for_transport(
                    "provider stream ended without Done or Failed", text_streamed=text_streamed
                )
            retry = isinstance(outcome, Failed) and outcome.retryable and not text_streamed
            if retry and isinstance(outcome, Failed) and attempt < max_attempts:
                wait = self._policy.wait_before(
                    attempt, self._rand(), retry_after_s=outcome.retry_after_s, waited_s=waited_s
                )
                if wait is not None:
                    waited_s += wait
                    await self._sleep(wait)
                    continue
                retry = False  # asked to wait too long: the provider's failure as it came
            if retry and isinstance(outcome, Failed):
                outcome = Failed(
                    code="unavailable",
                    message=MESSAGES["unavailable"],
                    retryable=True,
                    detail=f"gave up after {attempt} attempts; last: {outcome.code} "
                    f"{outcome.detail}",
                )
            if usage_seen:
                yield Usage(input_tokens=input_tokens, output_tokens=output_tokens)
            yield outcome
            return
