"""The provider's ``Retry-After``: parsed safely, waited out when short, and a call that
gives up at once when it is long.

The parsing and the policy are pure and tested first; then every provider runs against
its fake server (the real Anthropic SDK, the real Mistral SDK, and httpx for the
OpenAI-compatible one), counting the requests that reach the server.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import httpx
import pytest

from llm import CallRecord, Done, Failed, Persona, ReplyRequest, Turn, Usage, measure
from llm.anthropic import AnthropicProvider
from llm.base import ChatMessage
from llm.completion import CompletionRequest, complete
from llm.errors import MESSAGES, failure, failure_for_status
from llm.mistral import MistralProvider
from llm.openai import OpenAIProvider
from llm.retry import RetryingProvider, RetryPolicy
from llm.retry_after import retry_after_seconds
from tests.llm.conftest import EVENT_TIMEOUT, Upstream
from tests.llm.llm_fake_http import HttpError, Reply

NOW = datetime(2026, 12, 1, 16, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "1"}, 1.0),
        ({"retry-after": " 2 "}, 2.0),
        ({"retry-after": "1.5"}, 1.5),  # not RFC, but sent by some proxies; the SDKs accept it
        ({"retry-after": "0"}, 0.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "120"}, 0.25),  # the precise one wins
        ({"retry-after-ms": "soon", "retry-after": "3"}, 3.0),  # bad ms: fall back
        ({"retry-after-ms": "-5", "retry-after": "3"}, 3.0),
        ({"retry-after": "Tue, 01 Dec 2026 16:00:30 GMT"}, 30.0),
        ({"retry-after": "Tue, 01 Dec 2026 16:00:30 -0000"}, 30.0),  # naive: read as UTC
        ({"retry-after": "Tue, 01 Dec 2026 15:59:00 GMT"}, 0.0),  # past: retry now
        ({}, None),
        ({"retry-after": ""}, None),
        ({"retry-after": "-1"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "inf"}, None),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "Tue, 99 Foo 2026 16:00:30 GMT"}, None),
        ({"retry-after": "1" * 100}, None),
        ({"retry-after-ms": "1e400"}, None),
    ],
)
def test_parsing(headers: dict[str, str], seconds: float | None) -> None:
    assert retry_after_seconds(headers, now=NOW) == seconds


def test_parsing_ignores_header_case_on_http_headers() -> None:
    assert retry_after_seconds(httpx.Headers({"Retry-After": "4"})) == 4.0
    assert retry_after_seconds(httpx.Headers({"Retry-After-Ms": "40"})) == 0.04


def test_only_a_retryable_failure_carries_the_wait() -> None:
    assert failure("rate_limited", retry_after_s=2.0).retry_after_s == 2.0
    assert failure("spend_limit", retry_after_s=2.0).retry_after_s is None
    assert failure("bad_request", retry_after_s=2.0).retry_after_s is None
    cut = failure_for_status(429, None, "x", text_streamed=True, retry_after_s=2.0)
    assert (cut.code, cut.retry_after_s) == ("interrupted", None)


def test_policy_waits_at_least_the_advice_and_gives_up_past_the_cap() -> None:
    policy = RetryPolicy(base_delay_s=0.5, max_delay_s=8.0)
    own = policy.delay(1, 0.5)  # 0.375
    assert policy.wait_before(1, 0.5, retry_after_s=None, waited_s=0.0) == own
    assert policy.wait_before(1, 0.5, retry_after_s=1.0, waited_s=0.0) == 1.0
    assert policy.wait_before(1, 0.5, retry_after_s=0.1, waited_s=0.0) == own
    assert policy.wait_before(1, 0.5, retry_after_s=8.0, waited_s=0.0) == 8.0
    assert policy.wait_before(1, 0.5, retry_after_s=8.01, waited_s=0.0) is None
    assert policy.wait_before(1, 0.5, retry_after_s=120.0, waited_s=0.0) is None
    # The cap is on the call's total backoff: 5 s already waited leaves room for 3.
    assert policy.wait_before(2, 0.5, retry_after_s=3.0, waited_s=5.0) == 3.0
    assert policy.wait_before(2, 0.5, retry_after_s=5.0, waited_s=5.0) is None


# --- every provider against its fake server -------------------------------------------

REQUEST = ReplyRequest(persona=Persona(name="Ana"), history=(Turn("student", "Hi"),), max_tokens=60)
RATE_LIMITED = MESSAGES["rate_limited"]


def limited(**headers: str) -> HttpError:
    named = tuple((name.replace("_", "-"), value) for name, value in headers.items())
    return HttpError(429, "rate_limit_error", "Too many requests", headers=named)


async def collect(provider: RetryingProvider) -> tuple[list[object], CallRecord]:
    records: list[CallRecord] = []
    async with measure(provider, REQUEST, on_record=records.append) as events:
        collected: list[object] = [event async for event in events]
    return collected, records[0]


async def test_a_short_retry_after_is_waited_out(upstream: Upstream) -> None:
    upstream.fake.script = [limited(retry_after="1"), Reply(input_tokens=20)]

    events, record = await collect(upstream.provider)

    assert upstream.sleeps.delays == [1.0], "max(own 0.375 s, the provider's 1 s)"
    assert len(upstream.fake.requests) == 2
    assert events[-2:] == [Usage(20, 3), Done("end_turn")]
    assert (record.outcome, record.attempts) == ("ok", 2)


async def test_a_long_retry_after_fails_at_once_with_the_rate_limit(upstream: Upstream) -> None:
    upstream.fake.script = [limited(retry_after="120"), Reply()]

    events, record = await collect(upstream.provider)

    [failed] = events
    assert isinstance(failed, Failed)
    assert (failed.code, failed.message, failed.retry_after_s) == (
        "rate_limited",
        RATE_LIMITED,
        120.0,
    )
    assert "Too many requests" in failed.detail
    assert len(upstream.fake.requests) == 1, "no second request reached the server"
    assert upstream.sleeps.delays == []
    assert (record.outcome, record.failure_code, record.attempts) == ("failed", "rate_limited", 1)


async def test_retry_after_ms_is_preferred(upstream: Upstream) -> None:
    upstream.fake.script = [limited(retry_after_ms="2500", retry_after="120"), Reply()]

    events, _ = await collect(upstream.provider)

    assert upstream.sleeps.delays == [2.5]
    assert len(upstream.fake.requests) == 2 and events[-1] == Done("end_turn")


async def test_a_garbage_retry_after_leaves_our_own_backoff(upstream: Upstream) -> None:
    upstream.fake.script = [limited(retry_after="soon, maybe"), Reply()]

    events, _ = await collect(upstream.provider)

    assert upstream.sleeps.delays == [upstream.policy.delay(1, 0.5)]
    assert len(upstream.fake.requests) == 2 and events[-1] == Done("end_turn")


async def test_a_spend_limit_is_never_retried_whatever_retry_after_says(
    upstream: Upstream,
) -> None:
    upstream.fake.script = [
        HttpError(429, "insufficient_quota", "quota", headers=(("retry-after", "1"),)),
        Reply(),
    ]

    events, _ = await collect(upstream.provider)

    [failed] = events
    assert isinstance(failed, Failed)
    assert (failed.code, failed.retryable, failed.retry_after_s) == ("spend_limit", False, None)
    assert len(upstream.fake.requests) == 1 and upstream.sleeps.delays == []


@pytest.mark.timing
async def test_the_wait_is_real_with_the_real_sleep(upstream: Upstream) -> None:
    upstream.fake.script = [limited(retry_after="1"), Reply()]
    provider = RetryingProvider(upstream.inner, upstream.policy, rand=lambda: 0.0)
    started = time.monotonic()

    events, _ = await collect(provider)

    elapsed = time.monotonic() - started
    assert events[-1] == Done("end_turn")
    # At least the second asked for; well under our own 5 s timeouts even on a busy box.
    assert 1.0 <= elapsed < 4.0
    assert len(upstream.fake.requests) == 2


async def test_the_grader_call_honours_it_too(upstream: Upstream) -> None:
    assert isinstance(upstream.inner, AnthropicProvider | MistralProvider | OpenAIProvider)
    ask = CompletionRequest("Grade.", (ChatMessage("user", "Grade this."),), 20)
    upstream.fake.script = [limited(retry_after="1"), Reply()]
    done = await complete(upstream.inner, ask, retry=upstream.policy, sleep=upstream.sleeps)
    assert done.ok and done.attempts == 2 and upstream.sleeps.delays == [1.0]

    upstream.fake.requests.clear()
    upstream.fake.script = [limited(retry_after="120"), Reply()]
    gave_up = await complete(upstream.inner, ask, retry=upstream.policy, sleep=upstream.sleeps)
    assert gave_up.failed is not None and gave_up.failed.code == "rate_limited"
    assert gave_up.attempts == 1 and len(upstream.fake.requests) == 1
    assert upstream.sleeps.delays == [1.0], "no further sleep"


async def test_cancelling_a_retry_after_wait_closes_everything(upstream: Upstream) -> None:
    upstream.fake.script = [limited(retry_after="5"), Reply()]
    sleeping = asyncio.Event()
    asked: list[float] = []

    async def stuck_sleep(seconds: float) -> None:
        asked.append(seconds)
        sleeping.set()
        await asyncio.Event().wait()

    provider = RetryingProvider(upstream.inner, upstream.policy, sleep=stuck_sleep)
    task = asyncio.create_task(collect(provider))
    await asyncio.wait_for(sleeping.wait(), EVENT_TIMEOUT)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled() and asked == [5.0] and len(upstream.fake.requests) == 1
