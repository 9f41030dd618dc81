"""Pick and build a provider from settings. SDK modules are imported only when chosen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from llm.base import Provider
from llm.catalog import ModelEntry
from llm.retry import RetryingProvider, RetryPolicy

ProviderKind = Literal["scripted", "anthropic", "openai", "mistral"]


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """Everything needed to build a provider; the server fills it from env vars.

    ``model`` is the default model (``LLM_MODEL``); ``None`` keeps the
    provider's own default. Keys and URLs map to ``ANTHROPIC_API_KEY``,
    ``ANTHROPIC_BASE_URL``, ``OPENAI_API_KEY``, ``OPENAI_BASE_URL``,
    ``MISTRAL_API_KEY`` and ``MISTRAL_BASE_URL``.
    """

    kind: ProviderKind = "scripted"
    model: str | None = None
    anthropic_api_key: str | None = None
    anthropic_base_url: str | None = None
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    mistral_api_key: str | None = None
    mistral_base_url: str | None = None
    # ~20 words/s reads like a person typing quickly and keeps demos snappy.
    scripted_tokens_per_second: float = 20.0
    # Seconds without a byte from the upstream before the attempt fails.
    request_timeout_s: float = 60.0
    # Retries before the first token (see llm.retry.RetryPolicy for why 2).
    max_retries: int = 2


def make_provider(config: ProviderConfig) -> Provider:
    """Build the provider ``config`` asks for; real ones are wrapped in retries.

    Raises ``ValueError`` for an unknown kind or a missing required setting
    (an Anthropic key, an OpenAI base URL). The caller owns the result and
    should ``await close_provider(provider)`` on shutdown.
    """
    if config.kind == "scripted":
        from llm.scripted import ScriptedProvider

        return ScriptedProvider(config.scripted_tokens_per_second)
    policy = RetryPolicy(max_retries=config.max_retries)
    if config.kind == "mistral":
        if not config.mistral_api_key:
            raise ValueError("LLM_PROVIDER=mistral needs MISTRAL_API_KEY")
        from llm.mistral import DEFAULT_MISTRAL_MODEL, MistralProvider

        mistral_provider = MistralProvider(
            config.mistral_api_key,
            base_url=config.mistral_base_url or None,
            default_model=config.model or DEFAULT_MISTRAL_MODEL,
            timeout=config.request_timeout_s,
        )
        return RetryingProvider(mistral_provider, policy)
    if config.kind == "anthropic":
        if not config.anthropic_api_key:
            raise ValueError("LLM_PROVIDER=anthropic needs ANTHROPIC_API_KEY")
        from llm.anthropic import DEFAULT_ANTHROPIC_MODEL, AnthropicProvider

        anthropic_provider = AnthropicProvider(
            config.anthropic_api_key,
            base_url=config.anthropic_base_url or None,
            default_model=config.model or DEFAULT_ANTHROPIC_MODEL,
            timeout=config.request_timeout_s,
        )
        return RetryingProvider(anthropic_provider, policy)
    if config.kind == "openai":
        if not config.openai_base_url:
            raise ValueError("LLM_PROVIDER=openai needs OPENAI_BASE_URL")
        from llm.openai import DEFAULT_OPENAI_MODEL, OpenAIProvider

        openai_provider = OpenAIProvider(
            config.openai_base_url,
            api_key=config.openai_api_key or None,
            default_model=config.model or DEFAULT_OPENAI_MODEL,
            timeout=config.request_timeout_s,
        )
        return RetryingProvider(openai_provider, policy)
    raise ValueError(f"unknown LLM provider kind: {config.kind!r}")


def entry_provider_config(
    entry: ModelEntry, api_key: str | None, defaults: ProviderConfig
) -> ProviderConfig:
    """The :class:`ProviderConfig` serving catalog ``entry`` (its key already read from
    the variable it names); timeouts, retries and the scripted pace from ``defaults``."""
    return ProviderConfig(
        kind=entry.provider,
        model=entry.model,
        anthropic_api_key=api_key if entry.provider == "anthropic" else None,
        anthropic_base_url=entry.base_url if entry.provider == "anthropic" else None,
        openai_api_key=api_key if entry.provider == "openai" else None,
        openai_base_url=entry.base_url if entry.provider == "openai" else None,
        mistral_api_key=api_key if entry.provider == "mistral" else None,
        mistral_base_url=entry.base_url if entry.provider == "mistral" else None,
        scripted_tokens_per_second=defaults.scripted_tokens_per_second,
        request_timeout_s=defaults.request_timeout_s,
        max_retries=defaults.max_retries,
    )


async def close_provider(provider: Provider) -> None:
    """Release a provider's connections (a no-op for the scripted one). Never raises on twice."""
    closer = getattr(provider, "aclose", None)
    if closer is not None:
        await closer()
