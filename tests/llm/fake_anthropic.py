"""A fake Anthropic Messages API speaking the real streaming SSE protocol.

Event sequence of a normal reply, as the real API sends it: ``message_start``
(with input usage), ``content_block_start``, ``ping``, ``content_block_delta``
(``text_delta``) per chunk, ``content_block_stop``, ``message_delta`` (stop
reason and cumulative output usage), ``message_stop``. Errors are HTTP
statuses with ``{"type": "error", "error": {...}}`` bodies, or an
``event: error`` inside the stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.llm.llm_fake_http import FakeApp, HttpError, Reply, sse


@dataclass
class FakeAnthropic(FakeApp):
    model: str = "claude-test"

    def sse_events(self, step: Reply) -> list[bytes]:
        message: dict[str, Any] = {
            "id": f"msg_{len(self.requests)}",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": step.input_tokens, "output_tokens": 1},
        }
        events = [
            sse("message_start", {"type": "message_start", "message": message}),
            sse(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            sse("ping", {"type": "ping"}),
        ]
        events += [
            sse(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": chunk},
                },
            )
            for chunk in step.chunks
        ]
        if step.hang:
            return events
        if step.error_after:
            events.append(
                sse(
                    "error",
                    {"type": "error", "error": {"type": step.error_after, "message": "scripted"}},
                )
            )
            return events
        events += [
            sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
            sse(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": step.stop_reason, "stop_sequence": None},
                    "usage": {"output_tokens": step.reported_output_tokens},
                },
            ),
            sse("message_stop", {"type": "message_stop"}),
        ]
        return events

    def error_response(self, step: HttpError) -> tuple[int, dict[str, Any]]:
        return step.status, {
            "type": "error",
            "error": {"type": step.error_type, "message": step.message},
        }
