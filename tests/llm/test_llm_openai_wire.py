"""The OpenAI-compatible provider's HTTP transport (aiohttp) against a raw HTTP/1.1 server
that writes exactly the bytes a test chooses: line ends, splits inside a character, a
stalled body, an oversized error. The contract tests (``test_llm_http_providers``) drive
it against a well-behaved server; these are the edges a real server's bytes can have."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from llm import Done, Failed, Persona, ReplyEvent, ReplyRequest, TextDelta, Turn, Usage
from llm.openai import MAX_ERROR_BODY_BYTES, OpenAIProvider
from tests.llm.conftest import EVENT_TIMEOUT

Writer = Callable[[asyncio.StreamWriter], Awaitable[None]]

REQUEST = ReplyRequest(
    persona=Persona(name="Dana"), history=(Turn("student", "How are you?"),), max_tokens=50
)


def _chunk(text: str) -> dict[str, object]:
    return {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}


def _framed(data: bytes) -> bytes:
    """One piece of a chunked body."""
    return b"%x\r\n%s\r\n" % (len(data), data)


HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


@asynccontextmanager
async def raw_server(respond: Writer, heads: list[bytes] | None = None) -> AsyncIterator[str]:
    """A server on 127.0.0.1 that reads one request's head (kept in ``heads``) and body,
    then lets ``respond`` write the answer; yields the provider's base URL."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if heads is not None:
            heads.append(head)
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        await reader.readexactly(length)
        try:
            await respond(writer)
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.close()
        await server.wait_closed()


async def events_of(url: str, *, read_timeout: float = 5.0) -> list[ReplyEvent]:
    provider = OpenAIProvider(url, api_key="k", timeout=read_timeout)
    try:
        async with provider.stream(REQUEST) as events:
            return [event async for event in events]
    finally:
        await provider.aclose()


async def test_crlf_lines_and_characters_split_across_writes_arrive_whole() -> None:
    text = "naïve café ✓"
    line = b"data: " + json.dumps(_chunk(text), ensure_ascii=False).encode() + b"\r\n\r\n"
    cut = line.index("✓".encode()) + 1  # inside the check mark's three bytes

    async def respond(writer: asyncio.StreamWriter) -> None:
        writer.write(HEAD + _framed(line[:cut]))
        await writer.drain()
        await asyncio.sleep(0)  # two writes: the client reads them apart if it can
        usage = {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3}}
        rest = line[cut:] + b"data: " + json.dumps(usage).encode() + b"\r\n\r\n"
        writer.write(_framed(rest) + _framed(b"data: [DONE]\r\n\r\n") + b"0\r\n\r\n")
        await writer.drain()

    async with raw_server(respond) as url:
        events = await events_of(url)

    assert events == [TextDelta(text), Usage(7, 3), Done("end_turn")]


async def test_a_body_that_stalls_fails_after_the_read_timeout() -> None:
    async def respond(writer: asyncio.StreamWriter) -> None:
        line = b"data: " + json.dumps(_chunk("Well")).encode() + b"\n\n"
        writer.write(HEAD + _framed(line))
        await writer.drain()
        await asyncio.sleep(EVENT_TIMEOUT)  # then nothing: a stuck upstream

    async with raw_server(respond) as url:
        started = time.monotonic()
        events = await asyncio.wait_for(events_of(url, read_timeout=0.3), EVENT_TIMEOUT)
        waited = time.monotonic() - started

    assert events[0] == TextDelta("Well")
    failed = events[-1]
    assert isinstance(failed, Failed) and failed.code == "interrupted", failed
    assert waited < EVENT_TIMEOUT / 2  # the read timeout ended it, not the server


async def test_a_body_cut_short_is_a_transport_failure_worth_retrying() -> None:
    async def respond(writer: asyncio.StreamWriter) -> None:
        writer.write(HEAD + b"40\r\ndata: {")  # a piece promised, then the connection gone
        await writer.drain()

    async with raw_server(respond) as url:
        events = await events_of(url)

    # Not "internal" (a bug of ours, never retried): the connection broke before any text.
    [failed] = events
    assert isinstance(failed, Failed) and failed.code == "unavailable", failed
    assert failed.retryable


@pytest.mark.parametrize(
    "data",
    [
        b'{"choices": [{"index": 0, "delta": {"content": "\\ud800"}}]}',  # half a pair
        b'["not", "an", "object"]',
        b'{"choices": [',
    ],
)
async def test_a_data_line_that_is_no_json_object_ends_the_reply_as_interrupted(
    data: bytes,
) -> None:
    """After some text, a line the parser refuses (an unpaired surrogate escape would
    make text no frame can carry) ends the reply, never reaching the log."""

    async def respond(writer: asyncio.StreamWriter) -> None:
        first = b"data: " + json.dumps(_chunk("Well")).encode() + b"\n\n"
        writer.write(HEAD + _framed(first) + _framed(b"data: " + data + b"\n\n"))
        writer.write(_framed(b"data: [DONE]\n\n") + b"0\r\n\r\n")
        await writer.drain()

    async with raw_server(respond) as url:
        events = await events_of(url)

    assert events[0] == TextDelta("Well")
    assert not any(isinstance(event, TextDelta) for event in events[1:]), events
    failed = events[-1]
    assert isinstance(failed, Failed) and failed.code == "interrupted", failed


async def test_an_error_status_reads_only_the_first_kib_of_a_huge_body() -> None:
    body = b"<html>" + b"x" * (10 * MAX_ERROR_BODY_BYTES)

    async def respond(writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\n"
            b"retry-after: 3\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()

    async with raw_server(respond) as url:
        events = await events_of(url)

    [failed] = events
    assert isinstance(failed, Failed) and failed.retryable, failed
    assert failed.detail.startswith("HTTP 502: <html>xxx")
    assert len(failed.detail) < 600  # 500 bytes of the body shown, no more
    assert failed.retry_after_s == 3.0


async def test_the_environments_proxy_carries_every_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``HTTP_PROXY`` is honoured (read once per provider, not per request): the model's
    host need not resolve, the proxy is asked for its absolute URL, both replies."""

    async def respond(writer: asyncio.StreamWriter) -> None:
        line = b"data: " + json.dumps(_chunk("Hi")).encode() + b"\n\n"
        head = HEAD.replace(b"\r\n\r\n", b"\r\nconnection: close\r\n\r\n")
        writer.write(head + _framed(line + b"data: [DONE]\n\n") + b"0\r\n\r\n")
        await writer.drain()

    heads: list[bytes] = []
    async with raw_server(respond, heads) as proxy_url:
        monkeypatch.setenv("HTTP_PROXY", proxy_url.removesuffix("/v1"))
        for name in ("NO_PROXY", "no_proxy", "http_proxy"):
            monkeypatch.delenv(name, raising=False)
        provider = OpenAIProvider("http://model.invalid/v1", api_key="k", timeout=5.0)
        try:
            for _ in range(2):
                async with provider.stream(REQUEST) as events:
                    replies = [event async for event in events]
                assert replies[0] == TextDelta("Hi") and replies[-1] == Done("end_turn")
        finally:
            await provider.aclose()
    assert [head.split(b"\r\n")[0] for head in heads] == [
        b"POST http://model.invalid/v1/chat/completions HTTP/1.1"
    ] * 2
