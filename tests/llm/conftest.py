"""Fixtures for the llm tests: fake upstream servers and providers pointed at them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from llm.anthropic import AnthropicProvider
from llm.base import Provider
from llm.mistral import MistralProvider
from llm.openai import OpenAIProvider
from llm.retry import RetryingProvider, RetryPolicy
from tests.llm.fake_anthropic import FakeAnthropic
from tests.llm.fake_mistral import FakeMistral
from tests.llm.fake_openai import FakeOpenAI
from tests.llm.llm_fake_http import FakeApp, serving

# Seconds a test waits for an event that should happen within milliseconds.
EVENT_TIMEOUT = 5.0


@dataclass
class RecordedSleeps:
    """An injectable ``sleep`` that returns at once and remembers the delays."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)  # still a suspension point, like the real sleep


@dataclass
class Upstream:
    """One provider kind wired to its fake server."""

    kind: str
    fake: FakeApp
    inner: Provider
    provider: RetryingProvider
    sleeps: RecordedSleeps
    policy: RetryPolicy


def build_inner(
    kind: str, url: str, *, model: str
) -> AnthropicProvider | MistralProvider | OpenAIProvider:
    if kind == "anthropic":
        return AnthropicProvider("test-key", base_url=url, default_model=model, timeout=5)
    if kind == "mistral":
        return MistralProvider("test-key", base_url=url, default_model=model, timeout=5)
    return OpenAIProvider(url + "/v1", api_key="test-key", default_model=model, timeout=5)


FAKES: dict[str, type[FakeApp]] = {
    "anthropic": FakeAnthropic,
    "mistral": FakeMistral,
    "openai": FakeOpenAI,
}


@pytest.fixture(params=["anthropic", "mistral", "openai"])
async def upstream(request: pytest.FixtureRequest) -> AsyncIterator[Upstream]:
    kind: str = request.param
    fake: FakeApp = FAKES[kind]()
    async with serving(fake) as url:
        fake.url = url
        inner = build_inner(kind, url, model=f"{kind}-default")
        sleeps = RecordedSleeps()
        policy = RetryPolicy(max_retries=2)
        provider = RetryingProvider(inner, policy, sleep=sleeps, rand=lambda: 0.5)
        try:
            yield Upstream(kind, fake, inner, provider, sleeps, policy)
        finally:
            await provider.aclose()
