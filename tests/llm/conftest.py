"""Fixtures for the llm tests: fake upstream servers and providers pointed at them."""

from __future__ import annotations

import sys
from pathlib import Path

# pytest puts tests/ on sys.path (for tests/conftest.py) but not the project
# root, and the project is installed through an editable *finder* that runs
# after the path finder: so `import llm` would find tests/llm as a namespace
# package. A regular package wins over a namespace portion wherever it is on
# sys.path, so making the root visible is enough.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.append(_ROOT)
if getattr(sys.modules.get("llm"), "__file__", "") is None:  # a namespace llm got cached
    del sys.modules["llm"]

import asyncio  # noqa: E402
from collections.abc import AsyncIterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

import pytest  # noqa: E402
from fake_anthropic import FakeAnthropic  # noqa: E402
from fake_openai import FakeOpenAI  # noqa: E402
from llm_fake_http import FakeApp, serving  # noqa: E402

from llm.anthropic import AnthropicProvider  # noqa: E402
from llm.base import Provider  # noqa: E402
from llm.openai import OpenAIProvider  # noqa: E402
from llm.retry import RetryingProvider, RetryPolicy  # noqa: E402

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


def build_inner(kind: str, url: str, *, model: str) -> AnthropicProvider | OpenAIProvider:
    if kind == "anthropic":
        return AnthropicProvider("test-key", base_url=url, default_model=model, timeout=5)
    return OpenAIProvider(url + "/v1", api_key="test-key", default_model=model, timeout=5)


@pytest.fixture(params=["anthropic", "openai"])
async def upstream(request: pytest.FixtureRequest) -> AsyncIterator[Upstream]:
    kind: str = request.param
    fake: FakeApp = FakeAnthropic() if kind == "anthropic" else FakeOpenAI()
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
