"""One provider per catalog entry, and the route from a session's model id to its provider.

Built once at start-up (:func:`build_registry`): every entry's provider is created then,
so a missing key or URL fails start-up naming the entry instead of a student's first
message. Creating a provider opens no connection (the SDK clients connect on first use),
so an entry nobody picks costs nothing but a few objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from llm.base import Provider
from llm.catalog import PROVIDERS, Catalog, CatalogError, ModelEntry, ModelProvider
from llm.factory import ProviderConfig, close_provider, entry_provider_config, make_provider

__all__ = ["ModelRegistry", "Route", "build_registry"]


@dataclass(frozen=True, slots=True)
class Route:
    """Where one reply goes: the catalog entry (prices, windows) and its provider."""

    entry: ModelEntry
    provider: Provider


class ModelRegistry:
    """The catalog and its providers. The owner calls :meth:`aclose` once on shutdown."""

    def __init__(self, catalog: Catalog, providers: Mapping[str, Provider]) -> None:
        missing = [entry.id for entry in catalog.entries if entry.id not in providers]
        if missing:
            raise ValueError(f"no provider for catalog entries {missing}")
        self._catalog = catalog
        self._providers = dict(providers)

    @classmethod
    def single(
        cls,
        provider: Provider,
        *,
        context_window: int,
        max_reply_tokens: int,
        model_id: str | None = None,
    ) -> ModelRegistry:
        """A one-model catalog around ``provider`` (the ``LLM_PROVIDER`` shortcut, and
        tests): unpriced, its id the provider's name unless given."""
        entry = ModelEntry(
            id=model_id or provider.name,
            name=f"{provider.name} ({provider.default_model()})",
            provider=_kind(provider.name),
            model=provider.default_model(),
            context_window=context_window,
            max_reply_tokens=max_reply_tokens,
        )
        return cls(Catalog((entry,)), {entry.id: provider})

    @property
    def catalog(self) -> Catalog:
        return self._catalog

    def route(self, model_id: str | None) -> Route:
        """The entry called ``model_id`` and its provider; the default entry for None or
        an id the catalog no longer has (sessions created before it changed)."""
        entry = self._catalog.entry_for(model_id)
        return Route(entry, self._providers[entry.id])

    async def aclose(self) -> None:
        """Close every provider's connections. Safe to call twice."""
        for provider in self._providers.values():
            await close_provider(provider)


def build_registry(
    catalog: Catalog, keys: Mapping[str, str | None], defaults: ProviderConfig
) -> ModelRegistry:
    """A provider for every entry of ``catalog``, keys by entry id (see
    :func:`llm.catalog.resolve_keys`). Raises :class:`CatalogError` naming the entry when
    one cannot be built (a provider refusing its settings)."""
    providers: dict[str, Provider] = {}
    for index, entry in enumerate(catalog.entries):
        try:
            providers[entry.id] = make_provider(
                entry_provider_config(entry, keys.get(entry.id), defaults)
            )
        except ValueError as error:
            raise CatalogError(f'models[{index}] (entry "{entry.id}"): {error}') from error
    return ModelRegistry(catalog, providers)


def _kind(name: str) -> ModelProvider:
    """A provider's name as a catalog provider (a test double's odd name: scripted)."""
    for kind in PROVIDERS:
        if kind == name:
            return kind
    return "scripted"
