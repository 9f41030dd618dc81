"""``llm.completion``: a plain system-and-messages call, driven against the fake servers.

Every test runs three times: the real Anthropic SDK against ``fake_anthropic``, the real
Mistral SDK against ``fake_mistral``, and the OpenAI-compatible provider over httpx
against ``fake_openai``.
"""

from __future__ import annotations

import asyncio

import pytest

from llm.anthropic import AnthropicProvider
from llm.base import ChatMessage, Usage
from llm.completion import Completer, CompletionRequest, complete, make_completer
from llm.mistral import MistralProvider
from llm.openai import OpenAIProvider
from llm.window import TURN_OVERHEAD_TOKENS, estimate_tokens
from tests.llm.conftest import EVENT_TIMEOUT, Upstream
from tests.llm.llm_fake_http import HttpError, Reply

REQUEST = CompletionRequest(
    system="You grade interviews. Answer with JSON only.",
    messages=(
        ChatMessage("user", "Grade this."),
        ChatMessage("assistant", "not json"),
        ChatMessage("user", "Answer again with JSON."),
    ),
    max_tokens=321,
)


def completer(upstream: Upstream) -> Completer:
    """The fixture's provider without the reply retries: ``complete`` retries itself."""
    assert isinstance(upstream.inner, AnthropicProvider | MistralProvider | OpenAIProvider)
    return upstream.inner


async def test_answer_text_usage_and_the_request_sent(upstream: Upstream) -> None:
    upstream.fake.script = [Reply(chunks=('{"a":', " 1}"), input_tokens=70)]

    done = await complete(
        completer(upstream), REQUEST, retry=upstream.policy, sleep=upstream.sleeps
    )

    assert done.ok and done.failed is None
    assert done.text == '{"a": 1}'
    assert done.usage == Usage(70, 2)
    assert (done.provider, done.model, done.attempts) == (
        upstream.kind,
        f"{upstream.kind}-default",
        1,
    )
    assert done.stop_reason == "end_turn"
    assert done.time_to_first_token_ms is not None
    assert done.duration_ms >= done.time_to_first_token_ms
    [sent] = upstream.fake.requests
    body = sent.body
    assert (body["max_tokens"], body["stream"]) == (321, True)
    if upstream.kind == "anthropic":
        assert sent.path == "/v1/messages"
        system, messages = body["system"], body["messages"]
    else:
        assert sent.path == "/v1/chat/completions"
        assert body["messages"][0]["role"] == "system"
        system, messages = body["messages"][0]["content"], body["messages"][1:]
        # The Mistral SDK marks assistant turns "prefix": false (not a forced reply start).
        messages = [{k: v for k, v in m.items() if k != "prefix"} for m in messages]
    assert system == REQUEST.system
    assert messages == [
        {"role": "user", "content": "Grade this."},
        {"role": "assistant", "content": "not json"},
        {"role": "user", "content": "Answer again with JSON."},
    ]


async def test_a_named_model_is_asked_for(upstream: Upstream) -> None:
    request = CompletionRequest("sys", (ChatMessage("user", "hi"),), 10, model="grader-x")

    done = await complete(completer(upstream), request)

    assert done.model == "grader-x"
    assert upstream.fake.requests[0].body["model"] == "grader-x"


async def test_overloaded_then_success_is_retried_and_usage_added(upstream: Upstream) -> None:
    upstream.fake.script = [
        Reply(chunks=(), input_tokens=40, error_after="overloaded_error"),
        Reply(chunks=("ok",), input_tokens=40),
    ]

    done = await complete(
        completer(upstream),
        REQUEST,
        retry=upstream.policy,
        sleep=upstream.sleeps,
        rand=lambda: 0.5,
    )

    assert done.ok and done.text == "ok" and done.attempts == 2
    assert upstream.sleeps.delays == [upstream.policy.delay(1, 0.5)]
    # Anthropic's failed attempt reported its input in message_start: it was consumed.
    assert done.usage == (Usage(80, 2) if upstream.kind == "anthropic" else Usage(40, 1))


async def test_rate_limits_exhaust_the_retries(upstream: Upstream) -> None:
    upstream.fake.script = [HttpError(429, "rate_limit_error")]

    done = await complete(
        completer(upstream),
        REQUEST,
        retry=upstream.policy,
        sleep=upstream.sleeps,
    )

    assert len(upstream.fake.requests) == upstream.policy.max_retries + 1
    assert done.failed is not None and done.failed.code == "rate_limited"
    assert (done.text, done.usage, done.attempts) == ("", Usage(0, 0), 3)


async def test_bad_request_is_not_retried(upstream: Upstream) -> None:
    upstream.fake.script = [HttpError(400, "invalid_request_error", "max_tokens too large")]

    done = await complete(completer(upstream), REQUEST, sleep=upstream.sleeps)

    assert len(upstream.fake.requests) == 1
    assert done.failed is not None
    assert (done.failed.code, done.failed.retryable) == ("bad_request", False)
    assert "max_tokens too large" in done.failed.detail


async def test_an_answer_cut_short_fails_and_keeps_its_usage(upstream: Upstream) -> None:
    upstream.fake.script = [Reply(chunks=('{"crit',), input_tokens=30, error_after="api_error")]

    done = await complete(completer(upstream), REQUEST, sleep=upstream.sleeps)

    assert len(upstream.fake.requests) == 1, "an answer that started is not retried"
    assert done.failed is not None and done.failed.code == "interrupted"
    assert done.text == '{"crit'
    assert done.usage.input_tokens > 0


@pytest.mark.parametrize("upstream", ["openai"], indirect=True)  # Anthropic always reports
async def test_a_server_without_usage_gets_an_estimate(upstream: Upstream) -> None:
    upstream.fake.script = [Reply(chunks=("Some", " words"), include_usage=False)]

    done = await complete(completer(upstream), REQUEST)

    expected_input = estimate_tokens(REQUEST.system) + sum(
        estimate_tokens(m.content) + TURN_OVERHEAD_TOKENS for m in REQUEST.messages
    )
    assert done.usage == Usage(expected_input, 3)


async def test_cancelling_closes_the_connection(upstream: Upstream) -> None:
    upstream.fake.script = [Reply(chunks=("Well",), hang=True)]

    task = asyncio.create_task(complete(completer(upstream), REQUEST))
    try:
        await asyncio.wait_for(upstream.fake.streaming.wait(), EVENT_TIMEOUT)
        task.cancel()
        await asyncio.wait_for(upstream.fake.client_closed.wait(), EVENT_TIMEOUT)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()


async def test_make_completer_builds_each_kind_and_refuses_missing_settings() -> None:
    anthropic = make_completer("anthropic", anthropic_api_key="k", model="claude-grader")
    openai = make_completer("openai", openai_base_url="http://127.0.0.1:9/v1")
    try:
        assert (anthropic.name, anthropic.default_model()) == ("anthropic", "claude-grader")
        assert openai.name == "openai"
    finally:
        await anthropic.aclose()
        await openai.aclose()
    with pytest.raises(ValueError, match="ANTHROPIC_API_KEY"):
        make_completer("anthropic")
    with pytest.raises(ValueError, match="OPENAI_BASE_URL"):
        make_completer("openai")
