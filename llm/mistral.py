"""The Mistral chat API as a :class:`llm.base.Provider`, through the official SDK.

``mistralai.client.Mistral.chat.stream_async`` posts to ``{server_url}/v1/chat/completions``
and reads SSE ``data: {chunk}`` lines up to ``data: [DONE]``; usage arrives in the chunk
that carries ``finish_reason``. The SDK's own retries are off (they would retry 429/5xx
with their own backoff, and honour a ``Retry-After`` of any length): retrying is
:mod:`llm.retry`'s job, which knows whether text has already streamed and waits out a
``Retry-After`` only up to its cap (the header travels as ``Failed.retry_after_s``, read
from ``MistralError.headers``). SDK objects and exceptions never leave this module.

How the SDK reports trouble, read from its source (3.x):

* an HTTP error status raises ``MistralError`` (``SDKError``, or ``HTTPValidationError``
  for 422) carrying ``status_code`` and the body text;
* a chunk that is not a completion chunk (an error object inside a 200 stream) raises
  ``ResponseValidationError`` (a ``MistralError`` with status 200) while iterating;
* a chunk may end the reply with ``finish_reason: "error"``;
* the end of the body and ``[DONE]`` both simply end iteration, so a reply counts as
  complete only once a chunk gave a ``finish_reason``;
* transport failures are the SDK's HTTP client's (``httpx2``) exceptions, or
  ``NoResponseError``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from typing import Any, cast

import httpx2
from mistralai.client import Mistral, errors
from mistralai.client.utils import BackoffStrategy, RetryConfig

from llm.base import ChatMessage, Done, Failed, ReplyEvent, ReplyRequest, TextDelta, Usage
from llm.body_end import read_to_end
from llm.errors import failure, failure_for_status, failure_for_transport
from llm.retry_after import retry_after_seconds
from llm.window import (
    TURN_OVERHEAD_TOKENS,
    estimate_request_tokens,
    estimate_tokens,
    prepare,
    to_chat_messages,
)

DEFAULT_MISTRAL_MODEL = "mistral-small-latest"

# Seconds without a byte before the call counts as failed (see llm.anthropic).
DEFAULT_TIMEOUT_SECONDS = 60.0

# Mistral's finish reasons in our words ("error" is a failure, not a stop reason).
_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "model_length": "max_tokens"}

# As llm.openai's: httpx's default (100, 20 kept alive) made the 101st concurrent reply
# of a worker wait for a free connection before its request was sent.
CONNECTION_LIMITS = httpx2.Limits(max_connections=1_000, max_keepalive_connections=100)

# "none": the SDK sends each request once (the backoff numbers are then unused).
_NO_RETRIES = RetryConfig("none", BackoffStrategy(1, 1, 1.0, 1), retry_connection_errors=False)


class MistralProvider:
    """Streams replies from the Mistral API (or a server speaking it).

    ``base_url`` is the server's root (``https://api.mistral.ai``, the default for None);
    a trailing ``/v1`` is accepted and dropped, since the SDK adds it. Call :meth:`aclose`
    on shutdown to release pooled connections.
    """

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        default_model: str = DEFAULT_MISTRAL_MODEL,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        server_url = base_url.rstrip("/").removesuffix("/v1") if base_url else None
        self._http = httpx2.AsyncClient(
            timeout=timeout,
            event_hooks={"response": [_note_opened]},
            transport=_ReadsPastDone(httpx2.AsyncHTTPTransport(limits=CONNECTION_LIMITS)),
        )
        self._client = Mistral(
            api_key=api_key,
            server_url=server_url,
            async_client=self._http,
            retry_config=_NO_RETRIES,
            timeout_ms=int(timeout * 1000),
        )
        self._default_model = default_model

    @property
    def name(self) -> str:
        return "mistral"

    def default_model(self) -> str:
        return self._default_model

    async def aclose(self) -> None:
        """Close the connection pool. Safe to call twice."""
        await self._http.aclose()

    def stream(
        self, request: ReplyRequest
    ) -> AbstractAsyncContextManager[AsyncIterator[ReplyEvent]]:
        """Open a streamed reply; the HTTP request is sent on first iteration.

        Cancelling the consumer, or leaving the ``async with`` early, closes the HTTP
        response, so the upstream sees the connection close and stops generating.
        Errors never raise; they arrive as ``Failed``.
        """
        system, turns = prepare(request)
        messages = [{"role": "system", "content": system}, *to_chat_messages(turns)]
        model = request.model or self._default_model
        return _closing(
            self._events(
                messages, model, request.max_tokens, lambda: estimate_request_tokens(request)
            )
        )

    def chat(
        self, system: str, messages: Sequence[ChatMessage], *, model: str | None, max_tokens: int
    ) -> AbstractAsyncContextManager[AsyncIterator[ReplyEvent]]:
        """A plain system-and-messages call, streamed and closed like :meth:`stream`."""
        plain = [{"role": "system", "content": system}]
        plain += [{"role": m.role, "content": m.content} for m in messages]

        def estimate() -> int:
            return estimate_tokens(system) + sum(
                estimate_tokens(m.content) + TURN_OVERHEAD_TOKENS for m in messages
            )

        return _closing(self._events(plain, model or self._default_model, max_tokens, estimate))

    async def _events(
        self,
        messages: list[dict[str, str]],
        model: str,
        max_tokens: int,
        estimate_input: Callable[[], int],
    ) -> AsyncGenerator[ReplyEvent, None]:
        usage: Usage | None = None
        text: list[str] = []
        text_streamed = False
        finish: str | None = None
        outcome: Done | Failed | None = None
        raw: Any = None
        try:
            raw = await _opening(
                self._client.chat.stream_async(
                    model=model, messages=cast(Any, messages), max_tokens=max_tokens
                )
            )
            async for event in raw:
                chunk = event.data
                if chunk.usage is not None:
                    usage = Usage(
                        chunk.usage.prompt_tokens or 0, chunk.usage.completion_tokens or 0
                    )
                for choice in chunk.choices:
                    piece = _text(choice.delta.content)
                    if piece:
                        text_streamed = True
                        text.append(piece)
                        yield TextDelta(piece)
                    if choice.finish_reason:
                        finish = str(choice.finish_reason)
            if finish == "error":
                outcome = failure_for_status(
                    500, None, "finish_reason error", text_streamed=text_streamed
                )
            elif finish is not None:
                outcome = Done(_STOP_REASONS.get(finish, finish))
            else:
                outcome = failure_for_transport(
                    "stream ended before a finish_reason", text_streamed=text_streamed
                )
        except errors.MistralError as error:
            # A status error, or (status 200) an error object inside the stream.
            status = error.status_code if error.status_code >= 400 else 500
            kind, code, detail = _error_fields(error.body, str(error))
            outcome = failure_for_status(
                status,
                kind,
                detail,
                text_streamed=text_streamed,
                error_code=code,
                retry_after_s=retry_after_seconds(error.headers),
            )
        except (errors.NoResponseError, httpx2.TransportError) as error:
            outcome = failure_for_transport(repr(error), text_streamed=text_streamed)
        except Exception as error:  # SDK parsing bugs etc.: the contract is "never raises"
            outcome = failure("interrupted" if text_streamed else "internal", repr(error))
        finally:
            if raw is not None:
                await raw.close()
        if usage is None and text and isinstance(outcome, Failed):
            # Cut off before the usage chunk: the model may have generated up to max_tokens
            # and we are billed for it, so charge the most (as llm.openai does).
            usage = Usage(estimate_input(), max(max_tokens, estimate_tokens("".join(text))))
        elif usage is None and (text or isinstance(outcome, Done)):
            # A server that reports no usage: charge an estimate rather than nothing.
            usage = Usage(estimate_input(), estimate_tokens("".join(text)))
        if usage is not None:
            yield usage
        yield outcome


@asynccontextmanager
async def _closing(
    events: AsyncGenerator[ReplyEvent, None],
) -> AsyncIterator[AsyncIterator[ReplyEvent]]:
    try:
        yield events
    finally:
        await events.aclose()


# The responses opened by the SDK call being awaited in this task (see _opening).
_opened: ContextVar[list[httpx2.Response] | None] = ContextVar("mistral_opened", default=None)


async def _note_opened(response: httpx2.Response) -> None:
    opened = _opened.get()
    if opened is not None:
        opened.append(response)


async def _opening(call: Awaitable[Any]) -> Any:
    """Await the SDK's ``stream_async``; if that is cancelled or fails after the response
    arrived, close the response. The SDK runs its after-response hooks in a worker thread
    (``asyncio.to_thread``): a cancellation landing there drops the open response on the
    floor, and the upstream would go on generating (and billing) a reply nobody reads."""
    opened: list[httpx2.Response] = []
    token = _opened.set(opened)
    done = False
    try:
        result = await call
        done = True
        return result
    finally:
        _opened.reset(token)
        if not done:
            for response in opened:
                await response.aclose()


def _text(content: object) -> str:
    """The text of a delta's content: a string, or a list of chunks of which only the
    ``text`` ones are spoken (a reasoning model's ``thinking`` chunks are not)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(getattr(part, "text", ""))
            for part in content
            if getattr(part, "type", "") == "text"
        )
    return ""


def _error_fields(body: str, fallback: str) -> tuple[str | None, str | None, str]:
    """The error type, code (a string one, which may name a spend limit) and message of a
    Mistral error body, which is ``{"object": "error", "message", "type", "code", ...}``,
    or (inside a stream) ``{"data": {...}}`` wrapping one."""
    try:
        parsed = json.loads(body)
    except (TypeError, ValueError):
        return None, None, fallback
    if isinstance(parsed, dict) and isinstance(parsed.get("data"), dict):
        parsed = parsed["data"]
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
        parsed = parsed["error"]
    if not isinstance(parsed, dict):
        return None, None, fallback
    kind, code = parsed.get("type"), parsed.get("code")
    message = parsed.get("message") or fallback
    return (
        kind if isinstance(kind, str) else None,
        code if isinstance(code, str) else None,
        str(message)[:500],
    )


#: The SSE line that ends a Mistral stream, at the start of a line (a JSON string in an
#: earlier line cannot hold a raw newline, so text quoting it does not match).
_DONE_LINE = b"\ndata: [DONE]"


class _ReadsPastDone(httpx2.AsyncBaseTransport):
    """The SDK returns at ``data: [DONE]`` and closes the response before the body's end
    (``utils/eventstreaming.py``, 3.7), which closes the connection: every reply opened a
    new one (:mod:`llm.body_end`). This transport reads the body's end as soon as the
    bytes holding ``[DONE]`` arrive, before handing them to the SDK."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self._inner.handle_async_request(request)
        if isinstance(response.stream, httpx2.AsyncByteStream):
            response.stream = _PastDone(response.stream)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class _PastDone(httpx2.AsyncByteStream):
    def __init__(self, inner: httpx2.AsyncByteStream) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        parts = aiter(self._inner)
        seen = b"\n"  # the body's start is a line's start
        async for part in parts:
            seen = seen[-len(_DONE_LINE) :] + part
            if _DONE_LINE in seen:
                await read_to_end(parts)  # what follows [DONE] the SDK would not read
                yield part
                return
            yield part

    async def aclose(self) -> None:
        await self._inner.aclose()
