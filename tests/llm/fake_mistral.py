"""A fake Mistral chat API (``POST /v1/chat/completions``, streaming) for the real SDK.

Speaks what ``api.mistral.ai`` sends: SSE ``data: {chunk}`` lines (no ``event:`` names),
a first chunk with the assistant role, one chunk per text piece, a last chunk carrying
``finish_reason`` and ``usage``, then ``data: [DONE]``. HTTP errors have Mistral's body,
``{"object": "error", "message", "type", "param", "code"}``, and may carry a
``Retry-After`` header. A failure inside the stream is a chunk with ``finish_reason:
"error"`` (the SDK's enum has it for that), or, with ``error_object``, an error object
in place of a chunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.llm.llm_fake_http import FakeApp, HttpError, Reply, sse

_FINISH = {"end_turn": "stop", "max_tokens": "length"}


@dataclass
class FakeMistral(FakeApp):
    model: str = "mistral-test"
    #: A mid-stream failure as an error object instead of a ``finish_reason: error`` chunk.
    error_object: bool = False
    #: Sent with every HTTP error response, e.g. "30" (seconds).
    retry_after: str | None = None

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": f"cmpl-{len(self.requests)}",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    def sse_events(self, step: Reply) -> list[bytes]:
        events = [sse(None, self._chunk({"role": "assistant", "content": ""}))]
        events += [sse(None, self._chunk({"content": chunk})) for chunk in step.chunks]
        if step.hang:
            return events
        if step.error_after:
            if self.error_object:
                error = {"object": "error", "message": "scripted", "type": step.error_after}
                events.append(sse(None, error))
            else:
                events.append(sse(None, self._chunk({"content": ""}, "error")))
            events.append(sse(None, "[DONE]"))
            return events
        last = self._chunk({"content": ""}, _FINISH.get(step.stop_reason, "stop"))
        if step.include_usage:
            last["usage"] = {
                "prompt_tokens": step.input_tokens,
                "completion_tokens": step.reported_output_tokens,
                "total_tokens": step.input_tokens + step.reported_output_tokens,
            }
        events.append(sse(None, last))
        events.append(sse(None, "[DONE]"))
        return events

    def error_headers(self) -> list[tuple[bytes, bytes]]:
        return [(b"retry-after", self.retry_after.encode())] if self.retry_after else []

    def error_response(self, step: HttpError) -> tuple[int, dict[str, Any]]:
        return step.status, {
            "object": "error",
            "message": step.message,
            "type": step.error_type,
            "param": None,
            "code": str(step.status),
        }
