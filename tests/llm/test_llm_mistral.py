"""What only the Mistral provider does, with the real SDK against ``fake_mistral`` (the
shared contract - text, usage, retries, mid-stream errors, closing - runs for it in
test_llm_http_providers.py)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from llm import Done, Failed, ReplyEvent, ReplyRequest, TextDelta, Turn, Usage, measure
from llm.base import Persona
from llm.mistral import MistralProvider
from llm.retry import RetryingProvider, RetryPolicy
from tests.llm.conftest import RecordedSleeps
from tests.llm.fake_mistral import FakeMistral
from tests.llm.llm_fake_http import HttpError, Reply, serving

REQUEST = ReplyRequest(
    persona=Persona(name="Ana"), history=(Turn("student", "Hello?"),), max_tokens=100
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeMistral]:
    app = FakeMistral()
    async with serving(app) as url:
        app.url = url
        yield app


async def run(provider: MistralProvider | RetryingProvider) -> list[ReplyEvent]:
    async with measure(provider, REQUEST) as events:
        return [event async for event in events]


async def test_a_429_with_retry_after_is_ours_to_retry_not_the_sdks(fake: FakeMistral) -> None:
    # Were the SDK's retries on, it would sleep the 3 s itself and send more requests;
    # here our layer waits (with the injected sleep) and each attempt is one request.
    fake.retry_after = "3"
    fake.script = [HttpError(429, "rate_limited", "Requests rate limit exceeded"), Reply()]
    sleeps = RecordedSleeps()
    inner = MistralProvider("k", base_url=fake.url, default_model="m", timeout=5)
    provider = RetryingProvider(inner, RetryPolicy(max_retries=2), sleep=sleeps, rand=lambda: 0)
    started = time.monotonic()
    try:
        events = await run(provider)
    finally:
        await provider.aclose()

    assert time.monotonic() - started < 10
    assert len(fake.requests) == 2, "one request per attempt: the SDK did not retry"
    assert sleeps.delays == [3.0]
    assert events[-2:] == [Usage(42, 3), Done("end_turn")]


async def test_a_429_alone_is_rate_limited(fake: FakeMistral) -> None:
    fake.script = [HttpError(429, "rate_limited", "Requests rate limit exceeded")]
    provider = MistralProvider("k", base_url=fake.url, timeout=5)
    try:
        [failed] = await run(provider)
    finally:
        await provider.aclose()
    assert isinstance(failed, Failed)
    assert (failed.code, failed.retryable) == ("rate_limited", True)
    assert "Requests rate limit exceeded" in failed.detail
    assert len(fake.requests) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_5xx_before_the_stream_is_unavailable_and_retryable(
    fake: FakeMistral, status: int
) -> None:
    fake.script = [HttpError(status, "internal_error", "upstream down")]
    provider = MistralProvider("k", base_url=fake.url, timeout=5)
    try:
        [failed] = await run(provider)
    finally:
        await provider.aclose()
    assert isinstance(failed, Failed) and (failed.code, failed.retryable) == ("unavailable", True)


async def test_an_error_object_mid_stream_interrupts_the_reply(fake: FakeMistral) -> None:
    fake.error_object = True
    fake.script = [Reply(chunks=("I was",), error_after="internal_error")]
    provider = MistralProvider("k", base_url=fake.url, timeout=5)
    try:
        events = await run(provider)
    finally:
        await provider.aclose()
    assert events[0] == TextDelta("I was")
    failed = events[-1]
    assert isinstance(failed, Failed) and failed.code == "interrupted"
    assert "scripted" in failed.detail


async def test_an_error_object_before_text_is_retryable(fake: FakeMistral) -> None:
    fake.error_object = True
    fake.script = [Reply(chunks=(), error_after="internal_error")]
    provider = MistralProvider("k", base_url=fake.url, timeout=5)
    try:
        [failed] = await run(provider)
    finally:
        await provider.aclose()
    assert isinstance(failed, Failed) and (failed.code, failed.retryable) == ("unavailable", True)


async def test_base_url_with_v1_and_the_key_as_bearer(fake: FakeMistral) -> None:
    provider = MistralProvider("sk-mistral", base_url=fake.url + "/v1/", default_model="m-x")
    try:
        events = await run(provider)
    finally:
        await provider.aclose()
    assert events[-1] == Done("end_turn")
    [sent] = fake.requests
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-mistral"
    assert sent.body["model"] == "m-x" and sent.body["max_tokens"] == 100
    assert sent.body["messages"][0]["role"] == "system"
    assert "Ana" in sent.body["messages"][0]["content"]


async def test_a_stream_cut_before_a_finish_reason_is_not_done(fake: FakeMistral) -> None:
    # The connection ends cleanly after text, without a finish_reason or [DONE].
    class Truncated(FakeMistral):
        def sse_events(self, step: Reply) -> list[bytes]:
            return super().sse_events(step)[:-2]

    app = Truncated()
    async with serving(app) as url:
        provider = MistralProvider("k", base_url=url, timeout=5)
        try:
            events = await run(provider)
        finally:
            await provider.aclose()
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hello there."
    failed = events[-1]
    assert isinstance(failed, Failed) and failed.code == "interrupted"


async def test_a_spend_limit_429_is_not_retried(fake: FakeMistral) -> None:
    fake.script = [HttpError(429, "insufficient_quota", "You exceeded your current quota")]
    sleeps = RecordedSleeps()
    inner = MistralProvider("k", base_url=fake.url, timeout=5)
    provider = RetryingProvider(inner, RetryPolicy(max_retries=2), sleep=sleeps)
    try:
        [failed] = await run(provider)
    finally:
        await provider.aclose()
    assert isinstance(failed, Failed) and (failed.code, failed.retryable) == ("spend_limit", False)
    assert len(fake.requests) == 1 and sleeps.delays == []
