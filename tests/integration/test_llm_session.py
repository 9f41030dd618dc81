"""A live session driven by the real Anthropic SDK against a local server that speaks
the Messages streaming protocol: retries, stop closing the upstream stream, mid-stream
errors, usage accounting, and no prompt ever reaching a browser."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import world_of
from tests.llm.fake_anthropic import FakeAnthropic
from tests.llm.llm_fake_http import HttpError, Reply, serving
from tests.support.polling import polled

pytestmark = pytest.mark.slow

HIDDEN_FACT = "Lost their job last month."


async def test_anthropic_session(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    fake = FakeAnthropic(
        script=[
            HttpError(529, "overloaded_error"),  # first attempt: retried
            Reply(chunks=("I ", "guess ", "so."), input_tokens=321, output_tokens=3),
            Reply(chunks=("Well", " it", " is..."), input_tokens=400, hang=True),
            Reply(chunks=("Part",), input_tokens=410, error_after="api_error"),
            Reply(chunks=("Okay.",), input_tokens=420, output_tokens=1),
        ]
    )
    async with serving(fake) as url:
        env = {
            "LLM_PROVIDER": "anthropic",
            "ANTHROPIC_API_KEY": "sk-test-not-real",
            "ANTHROPIC_BASE_URL": url,
            "LLM_MODEL": "claude-test",
        }
        with world_of(request, tmp_path, "memory", **env) as world:
            session = world.new_session()
            async with world.student_and_teacher(session) as (student, teacher):
                # 1. 529 then success: the student just sees the reply.
                await student.send(type="say", text="How have things been?", client_id="a")
                done = await student.until(lambda e: e["type"] == "reply.done")
                assert done["text"] == "I guess so."
                assert done["usage"] == {"input_tokens": 321, "output_tokens": 3}
                assert len(fake.requests) == 2

                # 2. A slow stream stopped by the student: the upstream connection closes.
                await student.send(type="say", text="Tell me more.", client_id="b")
                await student.until(lambda e: e["type"] == "reply.delta")
                await asyncio.wait_for(fake.streaming.wait(), 10)
                await student.send(type="stop")
                await asyncio.wait_for(fake.client_closed.wait(), 10)
                stopped = await student.until(lambda e: e["type"] == "reply.done")
                assert stopped["stopped"] is True and stopped["text"] == "Well it is..."

                # 3. An error after some text: the partial text is kept, flagged failed.
                await student.send(type="say", text="And then?", client_id="c")
                failed = await student.until(lambda e: e["type"] == "reply.error")
                assert failed["text"] == "Part" and failed["message_id"]
                assert failed["code"] == "interrupted"
                # ...and the student can simply try again.
                await student.send(type="say", text="And then?", client_id="d")
                again = await student.until(lambda e: e["type"] == "reply.done")
                assert again["text"] == "Okay."
                await teacher.until(
                    lambda e: e.get("reply_id") == again["reply_id"] and e["type"] == "reply.done"
                )

            # Every provider call is in the API-usage table, with what it cost, once the
            # flusher has stored the last reply's `reply.usage` (within about 0.25 s).
            def calls(usage: dict[str, Any]) -> list[tuple[str, int]]:
                return [(i["key"], i["calls"]) for i in usage["items"]]

            with world.http() as http:

                async def read() -> dict[str, Any]:
                    usage: dict[str, Any] = http.get("/api/usage?group_by=provider").json()
                    return usage

                usage = await polled(read, lambda usage: calls(usage) == [("anthropic", 4)])
            assert calls(usage) == [("anthropic", 4)]
            assert usage["total"]["input_tokens"] >= 321 + 400 + 410 + 420

        # What the SDK sent: the persona prompt with this profile, the key, the model; the
        # hidden fact is still locked (no trust yet), so no request carries it.
        body = fake.requests[1].body
        system = json.dumps(body["system"])
        assert "Sam Rivera" in system
        assert all(HIDDEN_FACT not in json.dumps(r.body) for r in fake.requests)
        assert body["model"] == "claude-test" and body["stream"] is True
        assert body["messages"][-1]["content"] in (
            "How have things been?",
            [{"type": "text", "text": "How have things been?"}],
        )
        headers = fake.requests[1].headers
        assert "sk-test-not-real" in (
            headers.get("x-api-key", "") + headers.get("authorization", "")
        )
        # The retried conversation's history reaches the model, whispers never do.
        later = json.dumps(fake.requests[-1].body["messages"])
        assert "I guess so." in later

    # Nothing a browser received carries the system prompt; no student frame carries a
    # hidden fact (the teacher, who wrote them, sees them in client.state).
    frames = json.dumps(student.events + teacher.events)
    assert HIDDEN_FACT not in json.dumps(student.events)
    assert system[:80].strip('"') not in frames
