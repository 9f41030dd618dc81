"""The model registry: one provider per catalog entry, routing by catalog id, start-up
errors naming the entry, and the one-model shortcut."""

from __future__ import annotations

import pytest

from llm import RetryingProvider, ScriptedProvider
from llm.catalog import CatalogError, parse_catalog
from llm.factory import ProviderConfig
from llm.mistral import MistralProvider
from llm.openai import OpenAIProvider
from llm.registry import ModelRegistry, build_registry

CATALOG = parse_catalog(
    """
[[models]]
id = "offline"
name = "Offline"
provider = "scripted"
model = "scripted"
context_window = 100000
max_reply_tokens = 400

[[models]]
id = "local"
name = "Local"
provider = "openai"
model = "llama-x"
base_url = "http://127.0.0.1:1/v1"
context_window = 8000
max_reply_tokens = 200

[[models]]
id = "mistral"
name = "Mistral"
provider = "mistral"
model = "mistral-small-latest"
api_key_env = "K"
context_window = 32000
max_reply_tokens = 300
"""
)


async def test_each_entry_gets_its_own_provider_and_routes_by_id() -> None:
    registry = build_registry(
        CATALOG, {"offline": None, "local": None, "mistral": "sk"}, ProviderConfig(max_retries=4)
    )
    try:
        offline = registry.route("offline")
        assert isinstance(offline.provider, ScriptedProvider)
        local = registry.route("local")
        assert local.entry.max_reply_tokens == 200
        assert isinstance(local.provider, RetryingProvider)
        assert isinstance(local.provider.inner, OpenAIProvider)
        assert local.provider.default_model() == "llama-x"
        mistral = registry.route("mistral")
        assert isinstance(mistral.provider, RetryingProvider)
        assert isinstance(mistral.provider.inner, MistralProvider)
        assert (mistral.provider.name, mistral.provider.default_model()) == (
            "mistral",
            "mistral-small-latest",
        )
        # No model, or one the catalog no longer has: the default (first) entry.
        assert registry.route(None).entry.id == "offline"
        assert registry.route("retired").entry.id == "offline"
    finally:
        await registry.aclose()
        await registry.aclose()  # closing twice is harmless


def test_a_provider_refusing_its_settings_names_the_entry() -> None:
    with pytest.raises(CatalogError, match=r'models\[2\] \(entry "mistral"\): .*MISTRAL_API_KEY'):
        build_registry(CATALOG, {"offline": None, "local": None}, ProviderConfig())


async def test_the_shortcut_is_a_one_model_catalog() -> None:
    registry = ModelRegistry.single(ScriptedProvider(0), context_window=5_000, max_reply_tokens=99)
    [entry] = registry.catalog.entries
    assert (entry.id, entry.provider, entry.model, entry.max_reply_tokens) == (
        "scripted",
        "scripted",
        "scripted",
        99,
    )
    assert not entry.priced and registry.route("anything").entry is entry
    await registry.aclose()


def test_every_entry_needs_a_provider() -> None:
    with pytest.raises(ValueError, match="no provider"):
        ModelRegistry(CATALOG, {"offline": ScriptedProvider(0)})
