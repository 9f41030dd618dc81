"""Any OpenAI-compatible chat-completions server as a :class:`llm.base.Provider`.

Works with Ollama, vLLM, llama.cpp's server and hosted APIs. Speaks the wire
protocol directly over ``aiohttp`` (no SDK): ``POST {base_url}/chat/completions``
with ``stream: true``; the answer is SSE ``data: {...}`` lines ending with
``data: [DONE]``. Usage is asked for with ``stream_options.include_usage`` and
read from the last chunk; servers that ignore that option get an estimate.

aiohttp, not httpx: reading a streamed reply is the one thing a worker does for every
chunk of every reply, and aiohttp's C HTTP parser reads a chunk for a quarter of the CPU
httpx's pure-Python stack takes (h11, httpcore, anyio's timeouts): 59-86 against
247-281 us a chunk, 50 replies streaming at once on one core (docs/performance.md).
"""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import aiohttp
import certifi
import orjson
from aiohttp.helpers import get_env_proxy_for_url
from pydantic_core import from_json
from yarl import URL

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

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"

# Seconds without a byte before the call counts as failed (see llm.anthropic).
DEFAULT_TIMEOUT_SECONDS = 60.0

# Error bodies are read to show in ``Failed.detail``; a proxy's HTML page can be
# large, and 4 KiB is plenty for a JSON error.
MAX_ERROR_BODY_BYTES = 4096

_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "content_filter": "refusal"}


#: Connections a worker opens to one provider at most (replies streaming at once, each
#: holding one): the Anthropic SDK's own limit. A pool of 100 (httpx's default) made the
#: 101st concurrent reply of a worker wait for a free connection, seconds under the
#: benchmark's load, before its request was even sent.
MAX_CONNECTIONS = 1_000


class OpenAIProvider:
    """Streams replies from an OpenAI-compatible ``/chat/completions`` endpoint.

    ``base_url`` includes the version prefix, e.g. ``http://127.0.0.1:11434/v1``
    for Ollama or ``https://api.openai.com/v1``. ``api_key`` may be ``None`` for
    local servers. Call :meth:`aclose` on shutdown.
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        default_model: str = DEFAULT_OPENAI_MODEL,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._url = base_url.rstrip("/") + "/chat/completions"
        # Seconds to get a connection (from the pool or a new one) and between two reads.
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=timeout, sock_connect=timeout, sock_read=timeout
        )
        self._default_model = default_model
        # Made on first use, on the running loop (aiohttp binds a session to it).
        self._session: aiohttp.ClientSession | None = None
        self._proxy = _env_proxy(self._url)

    @property
    def name(self) -> str:
        return "openai"

    def default_model(self) -> str:
        return self._default_model

    async def aclose(self) -> None:
        """Close the connection pool. Safe to call twice."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                timeout=self._timeout,
                # The trust store httpx used (certifi's); the proxy is read once (above).
                connector=aiohttp.TCPConnector(
                    limit=MAX_CONNECTIONS,
                    ssl=ssl.create_default_context(cafile=certifi.where()),
                ),
            )
        return self._session

    def stream(
        self, request: ReplyRequest
    ) -> AbstractAsyncContextManager[AsyncIterator[ReplyEvent]]:
        """Open a streamed reply; the HTTP request is sent on first iteration.

        Cancelling the consumer, or leaving the ``async with`` early, closes the
        HTTP response (the server sees the connection close). Errors never
        raise; they arrive as ``Failed``.
        """
        system, turns = prepare(request)
        body = self._body(system, to_chat_messages(turns), request.model, request.max_tokens)
        return _closing(self._events(body, lambda: estimate_request_tokens(request)))

    def chat(
        self, system: str, messages: Sequence[ChatMessage], *, model: str | None, max_tokens: int
    ) -> AbstractAsyncContextManager[AsyncIterator[ReplyEvent]]:
        """A plain system-and-messages call (:mod:`llm.completion`), streamed and closed
        like :meth:`stream`. Errors never raise; they arrive as ``Failed``."""
        plain = [{"role": m.role, "content": m.content} for m in messages]
        body = self._body(system, plain, model, max_tokens)

        def estimate() -> int:
            return estimate_tokens(system) + sum(
                estimate_tokens(m.content) + TURN_OVERHEAD_TOKENS for m in messages
            )

        return _closing(self._events(body, estimate))

    def _body(
        self, system: str, messages: list[dict[str, str]], model: str | None, max_tokens: int
    ) -> dict[str, Any]:
        return {
            "model": model or self._default_model,
            "messages": [{"role": "system", "content": system}, *messages],
            "max_tokens": max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }

    async def _events(
        self, body: dict[str, Any], estimate_input: Callable[[], int]
    ) -> AsyncGenerator[ReplyEvent, None]:
        usage: Usage | None = None
        text: list[str] = []
        stop_reason = "end_turn"
        outcome: Done | Failed | None = None
        response: aiohttp.ClientResponse | None = None
        ended = False  # the body was read to its end: the connection goes back to the pool
        try:
            proxy, proxy_auth = self._proxy
            response = await self._client().post(
                self._url,
                data=_request_json(body),
                headers=_JSON_BODY,
                proxy=proxy,
                proxy_auth=proxy_auth,
            )
            if response.status >= 400:
                outcome = await _status_failure(response)
            else:
                async for chunk in _sse_chunks(response):
                    if "error" in chunk:
                        status, kind, code, detail = _error_fields(chunk, 500)
                        outcome = failure_for_status(
                            status, kind, detail, text_streamed=bool(text), error_code=code
                        )
                        break
                    usage = _usage(chunk) or usage
                    for choice in chunk.get("choices") or ():
                        content = (choice.get("delta") or {}).get("content")
                        if content:
                            text.append(content)
                            yield TextDelta(content)
                        reason = choice.get("finish_reason")
                        if reason:
                            stop_reason = _STOP_REASONS.get(reason, reason)
                    if chunk is _DONE:
                        outcome = Done(stop_reason)
                        # So the connection is kept for the next reply (llm.body_end).
                        ended = await read_to_end(_lines(response))
                if outcome is None:
                    outcome = failure_for_transport(
                        "stream ended before [DONE]", text_streamed=bool(text)
                    )
        except (aiohttp.ClientError, TimeoutError) as error:
            # Refused, reset, cut short mid-body, or no byte for ``timeout`` seconds.
            outcome = failure_for_transport(repr(error), text_streamed=bool(text))
        except Exception as error:  # malformed JSON, odd chunk shapes: "never raises"
            outcome = failure("interrupted" if text else "internal", repr(error))
        finally:
            if response is not None:
                # Closing a body not read to its end closes its connection: the server
                # sees a cancelled reply go.
                if ended:
                    response.release()
                else:
                    response.close()
        if usage is None and text and isinstance(outcome, Failed):
            # Cut off before the usage chunk: the model may have generated up to max_tokens
            # and we are billed for it, so charge the most rather than what reached us.
            usage = Usage(estimate_input(), max(body["max_tokens"], estimate_tokens("".join(text))))
        elif usage is None and (text or isinstance(outcome, Done)):
            # The server ignored include_usage: charge an estimate rather than nothing.
            usage = Usage(estimate_input(), estimate_tokens("".join(text)))
        if usage is not None:
            yield usage
        yield outcome


def _env_proxy(url: str) -> tuple[str | None, aiohttp.BasicAuth | None]:
    """The proxy for ``url`` from ``HTTP(S)_PROXY`` and ``NO_PROXY``, as httpx honoured
    them and aiohttp's ``trust_env`` reads them, but once: with ``trust_env`` aiohttp read
    the environment and ``~/.netrc`` again for every request (~1% of a loaded worker's
    CPU at 20 replies a second). ``(None, None)``: no proxy."""
    try:
        proxy, auth = get_env_proxy_for_url(URL(url))
    except LookupError:
        return None, None
    return str(proxy), auth


@asynccontextmanager
async def _closing(
    events: AsyncGenerator[ReplyEvent, None],
) -> AsyncIterator[AsyncIterator[ReplyEvent]]:
    try:
        yield events
    finally:
        await events.aclose()


# Sentinel chunk standing for ``data: [DONE]``.
_DONE: dict[str, Any] = {}


async def _lines(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """The body's lines, each with its line end (SSE is UTF-8, lines end in LF or CRLF)."""
    async for line in response.content:
        yield line


#: The type of the bytes :func:`_request_json` makes (aiohttp's ``json=`` takes text only,
#: and would encode it again).
_JSON_BODY = {"Content-Type": "application/json"}


def _request_json(body: Any) -> bytes:
    """The request's JSON by orjson (a say's body, system prompt and conversation, was
    1.5% of a Redis worker's samples through ``json.dumps``); text orjson refuses (a lone
    surrogate, which the edges keep out) by ``json.dumps``, escaped, as before."""
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError:
        return json.dumps(body).encode()


#: The longest SSE line taken: past it the stream is refused, as aiohttp's ``readline``
#: refused lines past 128 KiB (a reply's whole text in one event is ~16 KiB at most).
MAX_SSE_LINE = 1 << 20


async def _sse_chunks(response: aiohttp.ClientResponse) -> AsyncIterator[dict[str, Any]]:
    """The JSON objects of the ``data:`` lines, then :data:`_DONE` for ``[DONE]`` (the
    body after it is left to read).

    Read as the network hands the body over and split here, not a line at a time through
    aiohttp's ``readline`` (two calls an event, ~5% of a loaded worker's samples): an
    event's block comes in one read, with its blank separator. Raises ``ValueError`` on
    a data line that is not a JSON object or is over :data:`MAX_SSE_LINE`, and
    ``aiohttp.ClientError`` if the connection breaks.
    """
    pending = b""
    async for block in response.content.iter_any():
        *lines, pending = (pending + block if pending else block).split(b"\n")
        if len(pending) > MAX_SSE_LINE:
            raise ValueError(f"SSE line over {MAX_SSE_LINE} bytes")
        for raw in lines:
            if (chunk := _data_of(raw)) is not None:
                yield chunk
                if chunk is _DONE:
                    return
    if (chunk := _data_of(pending)) is not None:  # a last line without its line end
        yield chunk


def _data_of(line: bytes) -> dict[str, Any] | None:
    """A ``data:`` line's JSON object (:data:`_DONE` for ``[DONE]``); None for the other
    lines: blank separators, ``: keep-alive`` comments, ``event:`` lines."""
    if not line.startswith(b"data:"):
        return None
    data = line[5:].strip()
    if data == b"[DONE]":
        return _DONE
    chunk = from_json(data, cache_strings="keys")  # 0.8 us a chunk, json.loads 2.6
    if not isinstance(chunk, dict):
        shown = data[:200].decode(errors="replace")
        raise ValueError(f"SSE data is not a JSON object: {shown!r}")
    return chunk


async def _status_failure(response: aiohttp.ClientResponse) -> Failed:
    """The ``Failed`` for an HTTP error response, reading at most a few KiB of its body
    (and its ``Retry-After``, if any)."""
    headers: Mapping[str, str] = response.headers
    retry_after_s = retry_after_seconds(headers)
    status = response.status
    body = b""
    while len(body) < MAX_ERROR_BODY_BYTES:
        part = await response.content.read(MAX_ERROR_BODY_BYTES - len(body))
        if not part:
            break
        body += part
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        _, kind, code, detail = _error_fields(parsed, status)
        return failure_for_status(
            status,
            kind,
            detail,
            text_streamed=False,
            error_code=code,
            retry_after_s=retry_after_s,
        )
    detail = f"HTTP {status}: {body[:500].decode(errors='replace')}"
    return failure_for_status(
        status, None, detail, text_streamed=False, retry_after_s=retry_after_s
    )


def _error_fields(
    body: dict[str, Any], default_status: int
) -> tuple[int, str | None, str | None, str]:
    """Status, error type, error code (a string ``code`` such as ``insufficient_quota``)
    and a detail string from ``{"error": {...}}`` (or a bare string)."""
    error = body.get("error")
    if not isinstance(error, dict):
        return default_status, None, None, str(error)
    code = error.get("code")
    status = code if isinstance(code, int) and code >= 400 else default_status
    kind = error.get("type") if isinstance(error.get("type"), str) else None
    return status, kind, code if isinstance(code, str) else None, str(error.get("message") or error)


def _usage(chunk: dict[str, Any]) -> Usage | None:
    usage = chunk.get("usage")
    if not isinstance(usage, dict):
        return None
    return Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))
