"""The model catalog and its providers, from settings (``LLM_CATALOG``, or the one-model
shortcut ``LLM_PROVIDER`` / ``LLM_MODEL``). Keys are read from the environment here, at
start-up, and nowhere else."""

from __future__ import annotations

import os
from pathlib import Path

from llm.catalog import Catalog, CatalogError, parse_catalog, resolve_keys
from llm.factory import ProviderConfig, make_provider
from llm.registry import ModelRegistry, build_registry
from realtime.config import RealtimeConfig
from server.settings import Settings

__all__ = ["check_models", "model_catalog", "model_registry", "provider_config"]


def provider_config(settings: Settings) -> ProviderConfig:
    """The shortcut's provider, and the timeouts, retries and scripted pace of all."""
    return ProviderConfig(
        kind=settings.llm_provider,
        model=settings.llm_model,
        anthropic_api_key=settings.anthropic_api_key,
        anthropic_base_url=settings.anthropic_base_url,
        openai_api_key=settings.openai_api_key,
        openai_base_url=settings.openai_base_url,
        mistral_api_key=settings.mistral_api_key,
        mistral_base_url=settings.mistral_base_url,
        scripted_tokens_per_second=settings.scripted_tokens_per_second,
        request_timeout_s=settings.llm_timeout_seconds,
        max_retries=settings.llm_max_retries,
    )


def model_catalog(settings: Settings) -> Catalog | None:
    """The catalog ``LLM_CATALOG`` names (None when unset: the one-model shortcut).
    Raises :class:`CatalogError` naming the file, the entry and the field."""
    if not settings.llm_catalog:
        return None
    try:
        return parse_catalog(Path(settings.llm_catalog).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, CatalogError) as error:
        raise CatalogError(f"LLM_CATALOG {settings.llm_catalog}: {error}") from error


def model_registry(settings: Settings) -> ModelRegistry:
    """A provider per catalog entry, keys read now from the variables the entries name;
    without ``LLM_CATALOG``, the one model ``LLM_PROVIDER`` / ``LLM_MODEL`` name, unpriced,
    with ``REPLY_MAX_TOKENS``. Raises :class:`CatalogError` (a ``ValueError``) naming the
    entry whose key or URL is missing."""
    catalog = model_catalog(settings)
    if catalog is None:
        return ModelRegistry.single(
            make_provider(provider_config(settings)),
            context_window=RealtimeConfig().context_tokens,
            max_reply_tokens=settings.reply_max_tokens,
        )
    try:
        keys = resolve_keys(catalog, os.environ)
    except CatalogError as error:
        raise CatalogError(f"LLM_CATALOG {settings.llm_catalog}: {error}") from error
    return build_registry(catalog, keys, provider_config(settings))


def check_models(settings: Settings) -> None:
    """What start-up will refuse about the catalog, without building anything: the file
    parses and every key variable it names is set. Raises :class:`CatalogError`."""
    catalog = model_catalog(settings)
    if catalog is None:
        return
    try:
        resolve_keys(catalog, os.environ)
    except CatalogError as error:
        raise CatalogError(f"LLM_CATALOG {settings.llm_catalog}: {error}") from error
