"""A fake OpenAI-compatible model for the capacity benchmark, in its own process.

    python -m bench.upstream --port P

``POST /v1/chat/completions`` streams SSE chat-completion chunks like OpenAI does (a role
chunk, content chunks, a ``finish_reason`` chunk, the usage chunk, ``[DONE]``) at a fixed
:class:`~bench.wire.Pace`; every content chunk ends with a stamp of the wall-clock time it
was written (:func:`bench.wire.stamp`). ``GET /stats?run=R`` answers, and forgets, what it
saw of driver run ``R``'s requests: when each arrived and how many chunks it streamed,
keyed by the request marker found in the last user message.

Raw asyncio HTTP/1.1 (keep-alive, chunked bodies) rather than a framework: this process
shares a core with the load driver, so every microsecond it spends is the instrument's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bench.wire import (
    DEFAULT_CHUNK_INTERVAL_S,
    DEFAULT_REPLY_TOKENS,
    DEFAULT_TOKENS_PER_CHUNK,
    Pace,
    find_marker,
    stamp,
)

#: Requests we keep stats for before dropping the oldest: a sweep step makes ~60 requests a
#: second at 150 sessions; 200,000 is over half an hour of them (~40 MB at worst).
MAX_TRACKED_REQUESTS = 200_000
#: A chat request with a long history is ~100 KB; anything above this is refused.
MAX_BODY_BYTES = 8 << 20
WORDS = ("well", "I", "suppose", "it", "started", "when", "the", "job", "ended", "and")


@dataclass
class Request:
    arrived: float
    emitted: int = 0
    finished: bool = False


@dataclass
class Upstream:
    pace: Pace
    requests: dict[str, Request] = field(default_factory=dict)

    def track(self, marker: str, arrived: float) -> Request:
        if len(self.requests) >= MAX_TRACKED_REQUESTS:
            del self.requests[next(iter(self.requests))]
        request = self.requests[marker] = Request(arrived)
        return request

    def take_stats(self, run: str) -> dict[str, dict[str, Any]]:
        prefix = run + "-"
        mine = [marker for marker in self.requests if marker.startswith(prefix)]
        return {marker: asdict(self.requests.pop(marker)) for marker in mine}

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One keep-alive connection; ends when the peer closes it or sends garbage."""
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass  # the peer went away (a stopped reply closes its stream) or spoke nonsense
        finally:
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        arrived = time.time()
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])
        }
        length = int(headers.get("content-length") or 0)
        if length > MAX_BODY_BYTES:
            raise ValueError("body too large")
        body = await reader.readexactly(length) if length else b""
        url = urlsplit(target)
        if method == "POST" and url.path.endswith("/chat/completions"):
            await self._complete(writer, json.loads(body), arrived, len(body))
        elif method == "GET" and url.path == "/stats":
            run = (parse_qs(url.query).get("run") or [""])[0]
            _respond(writer, 200, json.dumps(self.take_stats(run)).encode())
        elif method == "GET" and url.path == "/healthz":
            _respond(writer, 200, b'{"ok": true}')
        else:
            _respond(writer, 404, b'{"error": {"message": "not found"}}')
        await writer.drain()
        return headers.get("connection", "").lower() != "close"

    async def _complete(
        self, writer: asyncio.StreamWriter, body: dict[str, Any], arrived: float, size: int
    ) -> None:
        users = [m for m in body.get("messages", ()) if m.get("role") == "user"]
        marker = find_marker(str(users[-1].get("content", ""))) if users else None
        request = self.track(marker, arrived) if marker else Request(arrived)
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
        )
        _event(writer, _chunk({"role": "assistant", "content": ""}))
        loop = asyncio.get_running_loop()
        started = loop.time()
        pace = self.pace
        for index in range(pace.chunks):
            delay = started + index * pace.chunk_interval_s - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            words = " ".join(WORDS[(index + k) % len(WORDS)] for k in range(pace.tokens_per_chunk))
            _event(writer, _chunk({"content": f" {words} {stamp(index, time.time())}"}))
            request.emitted += 1
            await writer.drain()
        _event(writer, _chunk({}, "stop"))
        usage = {
            "prompt_tokens": size // 4,
            "completion_tokens": pace.reply_tokens,
            "total_tokens": size // 4 + pace.reply_tokens,
        }
        _event(writer, {**_chunk({}), "choices": [], "usage": usage})
        _write_chunk(writer, b"data: [DONE]\n\n")
        writer.write(b"0\r\n\r\n")
        request.finished = True


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "bench",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _event(writer: asyncio.StreamWriter, data: dict[str, Any]) -> None:
    _write_chunk(writer, b"data: " + json.dumps(data, ensure_ascii=False).encode() + b"\n\n")


def _write_chunk(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(b"%x\r\n%s\r\n" % (len(data), data))


def _respond(writer: asyncio.StreamWriter, status: int, body: bytes) -> None:
    reason = "OK" if status == 200 else "Not Found"
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n".encode()
        + body
    )


async def serve(host: str, port: int, pace: Pace) -> None:
    upstream = Upstream(pace)
    server = await asyncio.start_server(upstream.serve, host, port, backlog=2048)
    print(f"upstream on http://{host}:{port}/v1 ({pace})", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tokens", type=int, default=DEFAULT_REPLY_TOKENS)
    parser.add_argument("--tokens-per-chunk", type=int, default=DEFAULT_TOKENS_PER_CHUNK)
    parser.add_argument("--interval-ms", type=float, default=DEFAULT_CHUNK_INTERVAL_S * 1000)
    args = parser.parse_args(argv)
    pace = Pace(args.tokens, args.tokens_per_chunk, args.interval_ms / 1000)
    from bench.procs import run_loop

    run_loop(serve(args.host, args.port, pace))


if __name__ == "__main__":
    main()
