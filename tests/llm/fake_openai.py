"""A fake OpenAI-compatible ``/chat/completions`` server (streaming only).

Sends ``data: {chunk}`` lines like OpenAI, vLLM and Ollama do: a role chunk,
one content chunk per text chunk, a chunk with ``finish_reason``, the usage
chunk (``choices: []``) when ``stream_options.include_usage`` was asked for,
then ``data: [DONE]``. Errors are HTTP statuses with ``{"error": {...}}``
bodies, or a ``data: {"error": {...}}`` line inside the stream (vLLM style).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.llm.llm_fake_http import FakeApp, HttpError, Reply, sse

_FINISH = {"end_turn": "stop", "max_tokens": "length"}


@dataclass
class FakeOpenAI(FakeApp):
    model: str = "gpt-test"

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-{len(self.requests)}",
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
            error = {"message": "scripted", "type": step.error_after, "code": 500}
            events.append(sse(None, {"error": error}))
            return events
        events.append(sse(None, self._chunk({}, _FINISH.get(step.stop_reason, "stop"))))
        asked = bool(self.requests[-1].body.get("stream_options", {}).get("include_usage"))
        if step.include_usage and asked:
            usage = {
                "prompt_tokens": step.input_tokens,
                "completion_tokens": step.reported_output_tokens,
                "total_tokens": step.input_tokens + step.reported_output_tokens,
            }
            events.append(sse(None, {**self._chunk({}), "choices": [], "usage": usage}))
        events.append(sse(None, "[DONE]"))
        return events

    def error_response(self, step: HttpError) -> tuple[int, dict[str, Any]]:
        return step.status, {
            "error": {"message": step.message, "type": step.error_type, "code": None}
        }
