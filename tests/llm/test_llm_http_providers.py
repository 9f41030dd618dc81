"""Contract tests for the HTTP providers, each driven against its fake server.

Every test runs three times: the real Anthropic SDK against ``fake_anthropic``, the
real Mistral SDK against ``fake_mistral``, and the OpenAI-compatible provider over
httpx against ``fake_openai``.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from llm import (
    CallRecord,
    Done,
    Failed,
    Persona,
    Provider,
    ReplyEvent,
    ReplyRequest,
    TextDelta,
    Turn,
    Usage,
    body_end,
    measure,
)
from llm.base import HiddenFact
from llm.retry import RetryingProvider
from llm.window import estimate_request_tokens
from tests.llm.conftest import EVENT_TIMEOUT, Upstream, build_inner
from tests.llm.llm_fake_http import HttpError, Reply

PERSONA = Persona(
    name="Dana Kowalski",
    age=34,
    background="Warehouse supervisor, two kids, recently separated.",
    presenting_problem="Trouble sleeping and angry outbursts at work.",
    communication_style="guarded, short answers",
    hidden_facts=(HiddenFact("Dana has started drinking every night."),),
    opening_line="I don't really know why I'm here.",
)


def make_request(persona: Persona = PERSONA, text: str = "How are you?") -> ReplyRequest:
    return ReplyRequest(persona=persona, history=(Turn("student", text),), max_tokens=200)


async def collect(provider: Provider, request: ReplyRequest) -> tuple[list[ReplyEvent], CallRecord]:
    records: list[CallRecord] = []
    async with measure(provider, request, on_record=records.append) as events:
        collected = [event async for event in events]
    assert len(records) == 1
    return collected, records[0]


def text_of(events: list[ReplyEvent]) -> str:
    return "".join(event.text for event in events if isinstance(event, TextDelta))


async def test_normal_reply_streams_text_and_usage(upstream: Upstream) -> None:
    upstream.fake.script = [Reply(chunks=("Hello", " there", "."), input_tokens=42)]

    events, record = await collect(upstream.provider, make_request())

    assert [e for e in events if isinstance(e, TextDelta)] == [
        TextDelta("Hello"),
        TextDelta(" there"),
        TextDelta("."),
    ]
    assert events[-2:] == [Usage(input_tokens=42, output_tokens=3), Done("end_turn")]
    assert record.outcome == "ok"
    assert (record.input_tokens, record.output_tokens, record.attempts) == (42, 3, 1)
    assert record.provider == upstream.kind
    assert record.model == f"{upstream.kind}-default"
    assert record.time_to_first_token_ms is not None
    assert record.duration_ms >= record.time_to_first_token_ms
    assert record.stop_reason == "end_turn"
    assert not record.usage_estimated


async def test_replies_one_after_another_share_one_connection(upstream: Upstream) -> None:
    """A finished reply hands its connection back for the next: a new connection per
    reply costs a TCP (and, to a hosted API, TLS) handshake before every reply's request,
    and the server a socket in TIME_WAIT (:mod:`llm.body_end`)."""
    upstream.fake.script = [Reply(chunks=("One", " two", "."))]

    for _ in range(3):
        events, record = await collect(upstream.provider, make_request())
        assert record.outcome == "ok" and text_of(events) == "One two."

    peers = {request.peer for request in upstream.fake.requests}
    assert len(upstream.fake.requests) == 3
    assert len(peers) == 1, f"{len(peers)} connections for 3 replies"


async def test_a_body_held_open_after_the_last_event_still_ends_the_reply(
    upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The body's end is waited for briefly (``END_SECONDS``), not for the read timeout:
    the reply is complete, and the connection is closed rather than kept."""
    monkeypatch.setattr(body_end, "END_SECONDS", 0.05)
    upstream.fake.script = [Reply(chunks=("Still", " here."), linger=True)]

    events, record = await asyncio.wait_for(
        collect(upstream.provider, make_request()), EVENT_TIMEOUT
    )

    assert record.outcome == "ok" and text_of(events) == "Still here."
    assert isinstance(events[-1], Done)
    await asyncio.wait_for(upstream.fake.client_closed.wait(), EVENT_TIMEOUT)


async def test_request_carries_key_model_prompt_and_history(upstream: Upstream) -> None:
    request = ReplyRequest(
        persona=PERSONA,
        history=(
            Turn("student", "Hi"),
            Turn("client", "Hey."),
            Turn("student", "What brings you?"),
        ),
        max_tokens=123,
        model="custom-model",
    )
    await collect(upstream.provider, request)

    [sent] = upstream.fake.requests
    body = sent.body
    assert body["model"] == "custom-model"
    assert body["max_tokens"] == 123
    assert body["stream"] is True
    if upstream.kind == "anthropic":
        assert sent.path == "/v1/messages"
        # anthropic 2.x sends the key as a bearer token; older SDKs used x-api-key.
        assert "Bearer test-key" in (
            sent.headers.get("authorization"),
            "Bearer " + sent.headers.get("x-api-key", ""),
        )
        system, messages = body["system"], body["messages"]
    else:
        assert sent.path == "/v1/chat/completions"
        assert sent.headers["authorization"] == "Bearer test-key"
        if upstream.kind == "openai":
            assert body["stream_options"] == {"include_usage": True}
            assert sent.headers["content-type"].startswith("application/json")
        else:  # Mistral reports usage in the last chunk unasked
            assert "stream_options" not in body
            assert sent.headers["accept"] == "text/event-stream"
        system, messages = body["messages"][0]["content"], body["messages"][1:]
        # The Mistral SDK marks assistant turns "prefix": false (not a forced reply start).
        messages = [{k: v for k, v in m.items() if k != "prefix"} for m in messages]
    assert "Dana Kowalski" in system
    assert messages == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hey."},
        {"role": "user", "content": "What brings you?"},
    ]


async def test_overloaded_then_success_retries_once(upstream: Upstream) -> None:
    upstream.fake.script = [HttpError(529, "overloaded_error"), Reply(input_tokens=50)]

    events, record = await collect(upstream.provider, make_request())

    assert len(upstream.fake.requests) == 2
    assert text_of(events) == "Hello there."
    assert events[-2:] == [Usage(50, 3), Done("end_turn")]
    assert upstream.sleeps.delays == [upstream.policy.delay(1, 0.5)]
    assert (record.outcome, record.attempts, record.input_tokens, record.output_tokens) == (
        "ok",
        2,
        50,
        3,
    )


async def test_error_event_after_text_keeps_text_and_fails(upstream: Upstream) -> None:
    upstream.fake.script = [
        Reply(chunks=("I was", " saying"), input_tokens=30, error_after="overloaded_error")
    ]
    request = make_request()

    events, record = await collect(upstream.provider, request)

    assert len(upstream.fake.requests) == 1, "a reply that started streaming is never retried"
    assert text_of(events) == "I was saying"
    failed = events[-1]
    assert isinstance(failed, Failed) and failed.code == "interrupted"
    usage = events[-2]
    assert isinstance(usage, Usage)
    # The final count never came: the output is charged at the most it could have been
    # (max_tokens), not at what reached us (issue 16: the budget must hold).
    if upstream.kind == "anthropic":
        # message_start reported the input.
        assert usage == Usage(30, request.max_tokens)
    else:
        # No usage chunk arrived: the input is an estimate.
        assert usage.input_tokens == estimate_request_tokens(request)
        assert usage.output_tokens == request.max_tokens
    assert record.outcome == "failed"
    assert record.failure_code == "interrupted"
    assert (record.input_tokens, record.output_tokens) == (usage.input_tokens, usage.output_tokens)


async def test_cancelling_a_slow_stream_closes_the_connection(upstream: Upstream) -> None:
    upstream.fake.script = [Reply(chunks=("Well", " I"), hang=True)]
    first_text = asyncio.Event()
    records: list[CallRecord] = []

    async def consume() -> None:
        async with measure(upstream.provider, make_request(), on_record=records.append) as events:
            async for event in events:
                if isinstance(event, TextDelta):
                    first_text.set()

    task = asyncio.create_task(consume())
    try:
        await asyncio.wait_for(first_text.wait(), EVENT_TIMEOUT)
        task.cancel()
        await asyncio.wait_for(upstream.fake.client_closed.wait(), EVENT_TIMEOUT)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    assert task.cancelled()
    [record] = records
    assert record.outcome == "cancelled"
    assert record.usage_estimated and record.output_tokens > 0 and record.input_tokens > 0


async def test_more_than_a_hundred_replies_stream_at_once(upstream: Upstream) -> None:
    """httpx's default pool holds 100 connections: the 101st concurrent reply of a worker
    waited for one of the others to end before its request was even sent."""
    upstream.fake.script = [Reply(chunks=("Well",), hang=True)]
    concurrent = 101
    streaming = 0
    all_streaming, release = asyncio.Event(), asyncio.Event()

    async def consume() -> None:
        nonlocal streaming
        async with upstream.inner.stream(make_request()) as events:
            async for event in events:
                if isinstance(event, TextDelta):
                    streaming += 1
                    if streaming == concurrent:
                        all_streaming.set()
                    await release.wait()
                    return

    tasks = [asyncio.create_task(consume()) for _ in range(concurrent)]
    try:
        await asyncio.wait_for(all_streaming.wait(), EVENT_TIMEOUT * 2)
    finally:
        release.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert len(upstream.fake.requests) == concurrent


async def test_leaving_the_block_early_closes_the_connection(upstream: Upstream) -> None:
    upstream.fake.script = [Reply(chunks=("Well", " I"), hang=True)]

    async with measure(upstream.provider, make_request()) as events:
        async for event in events:
            if isinstance(event, TextDelta):
                break

    await asyncio.wait_for(upstream.fake.client_closed.wait(), EVENT_TIMEOUT)
    assert events.record is not None and events.record.outcome == "stopped"


async def test_prompt_contains_only_its_own_persona(upstream: Upstream) -> None:
    other = Persona(
        name="Marcus Lee",
        background="Retired teacher living alone in a farmhouse.",
        hidden_facts=(HiddenFact("Marcus gave away his dog last month."),),
        instructions="Marcus mentions his late wife early on.",
    )
    await collect(upstream.provider, make_request(PERSONA, "Hello Dana"))
    await collect(upstream.provider, make_request(other, "Hello Marcus"))

    first, second = upstream.fake.bodies_text()
    assert "Warehouse supervisor" in first and "drinking every night" in first
    assert "Marcus" not in first and "farmhouse" not in first and "dog" not in first
    assert "farmhouse" in second and "gave away his dog" in second and "late wife" in second
    assert "Dana" not in second and "Warehouse" not in second and "drinking" not in second


async def test_rate_limit_exhausts_retries_with_a_human_message(upstream: Upstream) -> None:
    upstream.fake.script = [HttpError(429, "rate_limit_error")]

    events, record = await collect(upstream.provider, make_request())

    assert len(upstream.fake.requests) == 3
    assert events == [Failed("unavailable", "The client is unavailable right now, try again", True)]
    assert len(upstream.sleeps.delays) == 2
    assert upstream.sleeps.delays[1] > upstream.sleeps.delays[0]
    assert (record.outcome, record.attempts, record.input_tokens, record.output_tokens) == (
        "failed",
        3,
        0,
        0,
    )


async def test_bad_request_is_not_retried(upstream: Upstream) -> None:
    upstream.fake.script = [HttpError(400, "invalid_request_error", "max_tokens too large")]

    events, _ = await collect(upstream.provider, make_request())

    assert len(upstream.fake.requests) == 1
    [failed] = events
    assert isinstance(failed, Failed)
    assert (failed.code, failed.retryable) == ("bad_request", False)
    assert "max_tokens too large" in failed.detail
    assert "max_tokens" not in failed.message, "student-facing text has no technical detail"


async def test_connection_refused_is_unavailable_after_retries(upstream: Upstream) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inner = build_inner(upstream.kind, f"http://127.0.0.1:{port}", model="m")
    provider = RetryingProvider(inner, upstream.policy, sleep=upstream.sleeps, rand=lambda: 0.0)
    try:
        events, record = await collect(provider, make_request())
    finally:
        await provider.aclose()

    [failed] = events
    assert isinstance(failed, Failed) and failed.code == "unavailable"
    assert record.attempts == 3


async def test_max_tokens_stop_reason_is_passed_on(upstream: Upstream) -> None:
    upstream.fake.script = [Reply(chunks=("Cut",), stop_reason="max_tokens")]

    events, record = await collect(upstream.provider, make_request())

    assert events[-1] == Done("max_tokens")
    assert record.stop_reason == "max_tokens"


@pytest.mark.parametrize("upstream", ["openai"], indirect=True)  # Anthropic always reports
async def test_openai_server_without_usage_gets_an_estimate(upstream: Upstream) -> None:
    upstream.fake.script = [Reply(chunks=("Some", " words"), include_usage=False)]
    request = make_request()

    events, record = await collect(upstream.provider, request)

    assert events[-2:] == [
        Usage(estimate_request_tokens(request), 3),  # ceil(len("Some words") / 4)
        Done("end_turn"),
    ]
    assert record.outcome == "ok"


async def test_error_event_before_text_is_retried_and_its_usage_charged(
    upstream: Upstream,
) -> None:
    upstream.fake.script = [
        Reply(chunks=(), input_tokens=40, error_after="overloaded_error"),
        Reply(input_tokens=40),
    ]

    events, record = await collect(upstream.provider, make_request())

    assert len(upstream.fake.requests) == 2
    assert text_of(events) == "Hello there."
    # Anthropic's failed attempt reported its input (and 1 output) in message_start:
    # it was consumed, so it is charged; the OpenAI attempt reported nothing.
    expected = Usage(80, 4) if upstream.kind == "anthropic" else Usage(40, 3)
    assert events[-2:] == [expected, Done("end_turn")]
    assert (record.attempts, record.input_tokens) == (2, expected.input_tokens)
