"""The Anthropic Messages API as a :class:`llm.base.Provider`.

Uses the official SDK (``anthropic.AsyncAnthropic``) with its own retries
turned off: retrying is the job of :mod:`llm.retry`, which knows whether text
has already streamed. SDK objects and exceptions never leave this module.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, cast

import anthropic
import httpx2  # the SDK's HTTP client; mid-stream read errors surface as its exceptions

from llm.base import ChatMessage, Done, Failed, ReplyEvent, ReplyRequest, TextDelta, Usage
from llm.body_end import read_to_end
from llm.errors import failure, failure_for_status, failure_for_transport
from llm.retry_after import retry_after_seconds
from llm.window import prepare, to_chat_messages

if TYPE_CHECKING:
    from anthropic.types import MessageParam, RawMessageStreamEvent

DEFAULT_ANTHROPIC_MODEL = "claude-sonnet-4-6"

# Seconds without a byte before the call counts as failed: a streamed reply
# sends a token every few hundred ms, so 60 s of silence means a dead connection.
DEFAULT_TIMEOUT_SECONDS = 60.0


class AnthropicProvider:
    """Streams replies from the Anthropic Messages API (or anything speaking it).

    ``api_key`` and ``base_url`` come from the caller (the server reads
    ``ANTHROPIC_API_KEY`` / ``ANTHROPIC_BASE_URL``); ``base_url=None`` means the
    public API. Call :meth:`aclose` on shutdown to release pooled connections.
    """

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        default_model: str = DEFAULT_ANTHROPIC_MODEL,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,
            timeout=timeout,
            # The SDK over aiohttp (its `aiohttp` extra, vendored in the SDK) instead of its
            # pure-Python HTTP stack: a streamed event costs ~40% less CPU (134-169 against
            # 246-273 us, 50 replies at once on one core), as llm.openai's client. Its
            # errors reach us as the same httpx2 exceptions, its limits are the SDK's own.
            http_client=anthropic.DefaultAioHttpClient(),
        )
        self._default_model = default_model

    @property
    def name(self) -> str:
        return "anthropic"

    def default_model(self) -> str:
        return self._default_model

    async def aclose(self) -> None:
        """Close the SDK client's connection pool. Safe to call twice."""
        await self._client.close()

    def stream(
        self, request: ReplyRequest
    ) -> AbstractAsyncContextManager[AsyncIterator[ReplyEvent]]:
        """Open a streamed reply; the HTTP request is sent on first iteration.

        Cancelling the consumer, or leaving the ``async with`` early, closes the
        HTTP response, so the upstream sees the connection close and stops
        generating. Errors never raise; they arrive as ``Failed``.
        """
        system, turns = prepare(request)
        messages = cast("list[MessageParam]", to_chat_messages(turns))
        model = request.model or self._default_model
        return _closing(self._events(system, messages, model, request.max_tokens))

    def chat(
        self, system: str, messages: Sequence[ChatMessage], *, model: str | None, max_tokens: int
    ) -> AbstractAsyncContextManager[AsyncIterator[ReplyEvent]]:
        """A plain system-and-messages call (:mod:`llm.completion`), streamed and closed
        like :meth:`stream`. Errors never raise; they arrive as ``Failed``."""
        params = cast(
            "list[MessageParam]", [{"role": m.role, "content": m.content} for m in messages]
        )
        return _closing(self._events(system, params, model or self._default_model, max_tokens))

    async def _events(
        self, system: str, messages: list[MessageParam], model: str, max_tokens: int
    ) -> AsyncGenerator[ReplyEvent, None]:
        input_tokens = output_tokens = 0
        usage_seen = text_streamed = final_usage = False
        stop_reason = "end_turn"
        outcome: Done | Failed | None = None
        raw: anthropic.AsyncStream[RawMessageStreamEvent] | None = None
        try:
            raw = await self._client.messages.create(
                model=model,
                max_tokens=max_tokens,
                system=system,
                messages=messages,
                stream=True,
            )
            async for event in raw:
                if event.type == "message_start":
                    usage_seen = True
                    input_tokens = _input_tokens(event.message.usage)
                    output_tokens = event.message.usage.output_tokens
                elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                    if event.delta.text:
                        text_streamed = True
                        yield TextDelta(event.delta.text)
                elif event.type == "message_delta":
                    usage_seen = final_usage = True
                    # Both counts are cumulative for the whole message.
                    output_tokens = event.usage.output_tokens
                    if event.usage.input_tokens is not None:
                        input_tokens = max(input_tokens, _input_tokens(event.usage))
                    if event.delta.stop_reason:
                        stop_reason = event.delta.stop_reason
                elif event.type == "message_stop":
                    outcome = Done(stop_reason)
                    # The SDK reads the body's end if iterated on: the connection is kept.
                    await read_to_end(raw)
                    break
            if outcome is None:
                outcome = failure_for_transport(
                    "stream ended before message_stop", text_streamed=text_streamed
                )
        except anthropic.APIStatusError as error:
            # An `event: error` inside a 200 stream arrives with status 200; only
            # its body's type says what happened, so treat it as a server error.
            status = error.status_code if error.status_code >= 400 else 500
            outcome = failure_for_status(
                status,
                _error_type(error.body),
                str(error),
                text_streamed=text_streamed,
                error_code=_error_code(error.body),
                retry_after_s=retry_after_seconds(error.response.headers),
            )
        except (anthropic.APIConnectionError, httpx2.TransportError) as error:
            outcome = failure_for_transport(repr(error), text_streamed=text_streamed)
        except Exception as error:  # SDK parsing bugs etc.: the contract is "never raises"
            outcome = failure("interrupted" if text_streamed else "internal", repr(error))
        finally:
            if raw is not None:
                await raw.close()
        if text_streamed and not final_usage and isinstance(outcome, Failed):
            # Cut off before the final count: the model may have generated up to max_tokens
            # and we are billed for it, so charge the most rather than the 1 token
            # message_start reported (the budget must hold, not under-count).
            output_tokens = max(output_tokens, max_tokens)
        if usage_seen:
            yield Usage(input_tokens=input_tokens, output_tokens=output_tokens)
        yield outcome


@asynccontextmanager
async def _closing(
    events: AsyncGenerator[ReplyEvent, None],
) -> AsyncIterator[AsyncIterator[ReplyEvent]]:
    try:
        yield events
    finally:
        await events.aclose()


def _input_tokens(usage: Any) -> int:
    """Input tokens including prompt-cache reads and writes (all are billed as input)."""
    return int(
        (usage.input_tokens or 0)
        + (usage.cache_creation_input_tokens or 0)
        + (usage.cache_read_input_tokens or 0)
    )


def _error_code(body: object) -> str | None:
    """``error.details.error_code`` of an Anthropic error body (names a spend limit)."""
    if isinstance(body, dict):
        inner = body.get("error")
        details = inner.get("details") if isinstance(inner, dict) else None
        if isinstance(details, dict) and isinstance(details.get("error_code"), str):
            return str(details["error_code"])
    return None


def _error_type(body: object) -> str | None:
    """``error.type`` of an Anthropic error body (``{"type": "error", "error": {...}}``)."""
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict) and isinstance(inner.get("type"), str):
            return str(inner["type"])
    return None
