"""Faults the provider fakes (``tests/llm/fake_anthropic.py``, ``fake_openai.py``) do not
play by themselves, on top of their wire formats: a 429 with ``Retry-After``, the
providers' spend-limit 429s, a connection reset mid-stream, a stream that stalls, one that
ends without its final event, unknown event types, and a stream that drips text until the
client hangs up (for ``stop``). Each request takes the next step of ``steps`` (the last
one repeats); ``hangups`` records when each client closed a stream early."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.llm.fake_anthropic import FakeAnthropic
from tests.llm.fake_openai import FakeOpenAI
from tests.llm.llm_fake_http import (
    FakeApp,
    HttpError,
    Message,
    Receive,
    RecordedRequest,
    Reply,
    sse,
)
from tests.llm.llm_fake_http import Send as AsgiSend

Kind = Literal["anthropic", "openai"]


@dataclass(frozen=True)
class RateLimited:
    """429 with a ``Retry-After`` header (seconds)."""

    retry_after: int = 1


@dataclass(frozen=True)
class SpendLimit:
    """The provider's 429 for a spending cap: retrying cannot help until someone pays."""


@dataclass(frozen=True)
class Broken:
    """A 200 stream that sends ``reply``'s events up to its text, then goes wrong.

    ``how``: ``reset`` drops the connection; ``stall`` sends nothing more (the client's
    read timeout ends it); ``truncated`` ends the body cleanly without the final events;
    ``unknown`` is a normal reply with unknown event types between the known ones;
    ``drip`` sends one more chunk every ``drip_seconds`` until the client hangs up."""

    how: Literal["reset", "stall", "truncated", "unknown", "drip"]
    reply: Reply = field(
        default_factory=lambda: Reply(
            chunks=("I ", "was ", "saying "), input_tokens=50, output_tokens=3
        )
    )
    drip_seconds: float = 0.02


Step = HttpError | RateLimited | SpendLimit | Broken | Reply


@dataclass
class Hangup:
    at: float  # time.monotonic() when the client closed the stream
    chunks_sent: int


@dataclass
class FaultyUpstream:
    """One fake provider server (``kind``'s wire format) playing ``steps``."""

    kind: Kind
    steps: list[Step] = field(default_factory=lambda: [Reply()])
    hangups: list[Hangup] = field(default_factory=list)
    #: Set when a dripping stream has sent its first chunk.
    dripping: asyncio.Event = field(default_factory=asyncio.Event)
    requests: list[RecordedRequest] = field(default_factory=list)
    _wire: FakeApp = field(init=False)

    def __post_init__(self) -> None:
        self._wire = FakeAnthropic() if self.kind == "anthropic" else FakeOpenAI()
        self._wire.requests = self.requests  # the OpenAI fake reads include_usage there

    def play(self, *steps: Step) -> None:
        """Answer the next requests with ``steps`` (the last repeats)."""
        self.steps = list(steps)
        self.requests.clear()
        self.dripping.clear()

    async def __call__(self, scope: Message, receive: Receive, send: AsgiSend) -> None:
        if scope["type"] != "http":
            return
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {key.decode().lower(): value.decode() for key, value in scope["headers"]}
        self.requests.append(RecordedRequest(scope["path"], headers, json.loads(raw or b"{}")))
        step = self.steps[min(len(self.requests) - 1, len(self.steps) - 1)]
        match step:
            case HttpError():
                status, body = self._wire.error_response(step)
                await _json(send, status, body)
            case RateLimited(retry_after=seconds):
                status, body = self._wire.error_response(HttpError(429, "rate_limit_error"))
                await _json(send, status, body, ((b"retry-after", str(seconds).encode()),))
            case SpendLimit():
                await _json(send, 429, self._spend_limit_body())
            case Reply():
                await self._stream(self._wire.sse_events(step), "end", receive, send)
            case Broken():
                await self._broken(step, receive, send)

    def _spend_limit_body(self) -> dict[str, Any]:
        if self.kind == "anthropic":
            # Anthropic: a rate_limit_error whose details name the spend limit (no
            # Retry-After header: access resumes at the start of next month).
            return {
                "type": "error",
                "error": {
                    "type": "rate_limit_error",
                    "message": "You have reached your specified API usage limits.",
                    "details": {"error_code": "enforced_spend_limit_reached"},
                },
            }
        return {
            "error": {
                "message": "You exceeded your current quota, please check your plan.",
                "type": "insufficient_quota",
                "code": "insufficient_quota",
            }
        }

    async def _broken(self, step: Broken, receive: Receive, send: AsgiSend) -> None:
        events = self._wire.sse_events(step.reply)
        cut = _text_end(events)
        match step.how:
            case "unknown":
                odd = [
                    sse("thinking_frobnicated", {"type": "thinking_frobnicated", "index": 7}),
                    sse(None, {"object": "chat.completion.unknown", "surprise": [1, 2]})
                    if self.kind == "openai"
                    else sse("content_block_delta", _unknown_delta()),
                    b": keep-alive comment\n\n",
                ]
                mixed = [*events[:1], *odd, *events[1:cut], *odd, *events[cut:]]
                await self._stream(mixed, "end", receive, send)
            case "truncated":
                await self._stream(events[:cut], "end", receive, send)
            case "reset":
                await self._stream(events[:cut], "reset", receive, send)
            case "stall":
                await self._stream(events[:cut], "stall", receive, send)
            case "drip":
                await self._drip(events[:cut], step.drip_seconds, receive, send)

    async def _stream(
        self,
        events: list[bytes],
        then: Literal["end", "reset", "stall"],
        receive: Receive,
        send: AsgiSend,
    ) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        for event in events:
            await send({"type": "http.response.body", "body": event, "more_body": True})
        if then == "end":
            await send({"type": "http.response.body", "body": b""})
        elif then == "reset":
            # uvicorn drops the connection of an app that fails mid-response: the client
            # reads an incomplete chunked body, as after a TCP reset.
            raise ConnectionResetError("fault injection: connection reset mid-stream")
        else:
            await _until_disconnect(receive)
            self.hangups.append(Hangup(time.monotonic(), len(events)))

    async def _drip(
        self, events: list[bytes], every: float, receive: Receive, send: AsgiSend
    ) -> None:
        """The head of a reply, then a text chunk every ``every`` s until the client leaves."""
        chunk = self._chunk_event("more ")
        gone = asyncio.Event()
        sent = 0

        async def watch() -> None:
            await _until_disconnect(receive)
            gone.set()

        async with asyncio.TaskGroup() as group:
            watcher = group.create_task(watch())
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")],
                }
            )
            try:
                for event in events:
                    await send({"type": "http.response.body", "body": event, "more_body": True})
                    sent += 1
                while not gone.is_set():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    sent += 1
                    self.dripping.set()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(gone.wait(), every)
            except OSError:
                pass  # the client went away while we were sending
            finally:
                self.hangups.append(Hangup(time.monotonic(), sent))
                watcher.cancel()

    def _chunk_event(self, text: str) -> bytes:
        events = self._wire.sse_events(Reply(chunks=(text,)))
        return events[_text_end(events) - 1]


def _text_end(events: list[bytes]) -> int:
    """Index just past the last text chunk of a reply's events."""
    is_text: Callable[[bytes], bool] = lambda e: (  # noqa: E731
        b"text_delta" in e or (b'"content": "' in e and b'"content": ""' not in e)
    )
    return max(i for i, e in enumerate(events) if is_text(e)) + 1


def _unknown_delta() -> dict[str, Any]:
    return {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "citations_delta_v9", "citation": {"what": "unknown"}},
    }


async def _json(
    send: AsgiSend, status: int, body: dict[str, Any], extra: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), *extra],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
