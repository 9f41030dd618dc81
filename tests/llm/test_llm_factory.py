"""Building providers from settings, and the package's import boundary."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from llm import ProviderConfig, RetryingProvider, ScriptedProvider, close_provider, make_provider
from llm.anthropic import AnthropicProvider
from llm.openai import OpenAIProvider

LLM_DIR = Path(__file__).resolve().parents[2] / "llm"


async def test_scripted_is_the_default() -> None:
    provider = make_provider(ProviderConfig())
    assert isinstance(provider, ScriptedProvider)
    await close_provider(provider)


async def test_anthropic_is_wrapped_in_retries_with_the_configured_model() -> None:
    provider = make_provider(
        ProviderConfig(kind="anthropic", model="claude-x", anthropic_api_key="k", max_retries=4)
    )
    assert isinstance(provider, RetryingProvider)
    assert isinstance(provider.inner, AnthropicProvider)
    assert (provider.name, provider.default_model()) == ("anthropic", "claude-x")
    await close_provider(provider)


async def test_openai_needs_a_base_url() -> None:
    with pytest.raises(ValueError, match="OPENAI_BASE_URL"):
        make_provider(ProviderConfig(kind="openai"))
    provider = make_provider(ProviderConfig(kind="openai", openai_base_url="http://127.0.0.1:1/v1"))
    assert isinstance(provider, RetryingProvider)
    assert isinstance(provider.inner, OpenAIProvider)
    await close_provider(provider)


def test_anthropic_needs_a_key() -> None:
    with pytest.raises(ValueError, match="ANTHROPIC_API_KEY"):
        make_provider(ProviderConfig(kind="anthropic"))


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown"):
        make_provider(ProviderConfig(kind="gemini"))  # type: ignore[arg-type]


def test_llm_never_imports_upper_floors() -> None:
    for path in LLM_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in {"server", "realtime", "storage"}, (path, name)
