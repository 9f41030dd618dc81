"""The model catalog: which models a deployment offers, how to reach them, what they cost.

Pure: parsing and validation take TOML text (or an already-parsed mapping) and return a
:class:`Catalog`, or raise :class:`CatalogError` naming the entry and the field
(``models[2].input_price_per_mtok (entry "mistral-small"): ...``). Keys are never in the
catalog, only the *name* of the environment variable holding each one; reading those
variables is :func:`resolve_keys`'s job, with the environment passed in.

Cost is exact decimal arithmetic: a price per million tokens times tokens is the cost in
millionths of the currency, so ``cost_micros = in_tokens * in_price + out_tokens *
out_price``, rounded half up to a whole number.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ModelProvider = Literal["anthropic", "mistral", "openai", "scripted"]
PROVIDERS: tuple[ModelProvider, ...] = ("anthropic", "mistral", "openai", "scripted")

# Catalog ids are stored in api_usage.model_id and client_profiles.default_model
# (String(100)) and typed into URLs and TOML: short, lower-case, no spaces.
ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,99}$"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
# The largest context window we accept (10 M tokens): far past any model, and a typo
# with three extra zeros is caught instead of windowing nothing away.
MAX_CONTEXT_WINDOW = 10_000_000
# A price per million tokens above this (in any currency) is almost surely a typo.
MAX_PRICE_PER_MTOK = 10_000.0


class CatalogError(ValueError):
    """A catalog that cannot be used; the message names the entry and the field."""


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """One model the deployment offers."""

    id: str
    name: str
    provider: ModelProvider
    model: str
    context_window: int
    max_reply_tokens: int
    base_url: str | None = None
    api_key_env: str | None = None
    #: Per million tokens, in the catalog's currency; None = unpriced (cost recorded NULL).
    input_price_per_mtok: Decimal | None = None
    output_price_per_mtok: Decimal | None = None

    @property
    def priced(self) -> bool:
        return self.input_price_per_mtok is not None and self.output_price_per_mtok is not None


@dataclass(frozen=True, slots=True)
class Catalog:
    """The models on offer, the first (or the one ``default`` names) being the default."""

    entries: tuple[ModelEntry, ...]
    currency: str = "USD"
    default_id: str = ""

    def __post_init__(self) -> None:
        if not self.entries:
            raise CatalogError("models: the catalog needs at least one [[models]] entry")
        if not self.default_id:
            object.__setattr__(self, "default_id", self.entries[0].id)

    @property
    def default(self) -> ModelEntry:
        entry = self.get(self.default_id)
        assert entry is not None
        return entry

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(entry.id for entry in self.entries)

    def get(self, model_id: str | None) -> ModelEntry | None:
        """The entry called ``model_id``, or None."""
        for entry in self.entries:
            if entry.id == model_id:
                return entry
        return None

    def entry_for(self, model_id: str | None) -> ModelEntry:
        """The entry called ``model_id``; the default for None or an id no longer offered
        (a session created before the catalog changed keeps working)."""
        return self.get(model_id) or self.default

    def priced_as(self, provider: str, model: str) -> ModelEntry | None:
        """The first entry serving ``model`` through ``provider`` (to price calls made
        outside a session, such as the grader's), or None."""
        for entry in self.entries:
            if entry.provider == provider and entry.model == model:
                return entry
        return None


def cost_micros(entry: ModelEntry | None, input_tokens: int, output_tokens: int) -> int | None:
    """Millionths of the catalog's currency that the tokens cost at ``entry``'s prices,
    rounded half up; None when there is no entry or it has no prices."""
    if entry is None or entry.input_price_per_mtok is None or entry.output_price_per_mtok is None:
        return None
    exact = input_tokens * entry.input_price_per_mtok + output_tokens * entry.output_price_per_mtok
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# -- parsing --------------------------------------------------------------------------------


class _EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=100)
    provider: ModelProvider
    model: str = Field(min_length=1, max_length=200)
    base_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$", max_length=500)
    api_key_env: str | None = Field(default=None, pattern=ENV_NAME_PATTERN)
    context_window: int = Field(ge=1_000, le=MAX_CONTEXT_WINDOW)
    max_reply_tokens: int = Field(ge=1)
    # Strict floats still take TOML integers (3 as well as 3.0), never strings.
    input_price_per_mtok: float | None = Field(default=None, ge=0, le=MAX_PRICE_PER_MTOK)
    output_price_per_mtok: float | None = Field(default=None, ge=0, le=MAX_PRICE_PER_MTOK)

    @field_validator("name", "model")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class _CatalogIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    default: str | None = None
    models: list[dict[str, Any]] = Field(min_length=1)


def parse_catalog(text: str) -> Catalog:
    """The catalog in TOML ``text``. Raises :class:`CatalogError` naming what is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CatalogError(f"not valid TOML: {error}") from error
    return catalog_from_mapping(data)


def catalog_from_mapping(data: Mapping[str, Any]) -> Catalog:
    """The catalog in an already-parsed mapping (TOML's shape). Raises :class:`CatalogError`."""
    try:
        top = _CatalogIn.model_validate(dict(data))
    except ValidationError as error:
        raise CatalogError(_describe(error, prefix="")) from error
    entries: list[ModelEntry] = []
    seen: set[str] = set()
    for index, raw in enumerate(top.models):
        where = f"models[{index}]"
        try:
            parsed = _EntryIn.model_validate(raw)
        except ValidationError as error:
            raise CatalogError(_describe(error, prefix=where, entry=raw.get("id"))) from error
        entry = _entry(parsed)
        problem = _entry_problem(entry, seen)
        if problem is not None:
            field, message = problem
            raise CatalogError(f'{where}.{field} (entry "{entry.id}"): {message}')
        seen.add(entry.id)
        entries.append(entry)
    if top.default is not None and top.default not in seen:
        raise CatalogError(f"default: no entry has the id {top.default!r}")
    return Catalog(tuple(entries), top.currency, top.default or "")


def _entry(parsed: _EntryIn) -> ModelEntry:
    def price(value: float | None) -> Decimal | None:
        # str() first: Decimal(0.1) is 0.1000000000000000055..., Decimal("0.1") is 0.1.
        return None if value is None else Decimal(str(value))

    return ModelEntry(
        id=parsed.id,
        name=parsed.name,
        provider=parsed.provider,
        model=parsed.model,
        context_window=parsed.context_window,
        max_reply_tokens=parsed.max_reply_tokens,
        base_url=parsed.base_url.rstrip("/") if parsed.base_url else None,
        api_key_env=parsed.api_key_env,
        input_price_per_mtok=price(parsed.input_price_per_mtok),
        output_price_per_mtok=price(parsed.output_price_per_mtok),
    )


def _entry_problem(entry: ModelEntry, seen: set[str]) -> tuple[str, str] | None:
    """The first rule across fields that ``entry`` breaks, as (field, message)."""
    if entry.id in seen:
        return "id", f"{entry.id!r} is used by an earlier entry; ids must be unique"
    if entry.max_reply_tokens >= entry.context_window // 2:
        return "max_reply_tokens", "must be below half of context_window (the history needs room)"
    if (entry.input_price_per_mtok is None) != (entry.output_price_per_mtok is None):
        missing = "input" if entry.input_price_per_mtok is None else "output"
        return f"{missing}_price_per_mtok", "give both prices or neither"
    if entry.provider in ("anthropic", "mistral") and not entry.api_key_env:
        return "api_key_env", f"a {entry.provider} model needs the name of its key's variable"
    if entry.provider == "openai" and not entry.base_url:
        return "base_url", "an openai (compatible) model needs the server's URL, with /v1"
    return None


def _describe(error: ValidationError, *, prefix: str, entry: object = None) -> str:
    """The first pydantic error as ``models[2].field (entry "x"): message``."""
    first = error.errors()[0]
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"])
    where = (prefix + path).lstrip(".") or "catalog"
    if isinstance(entry, str):
        where = f'{where} (entry "{entry}")'
    message = first["msg"]
    if first["type"] == "missing":
        message = "is required"
    elif first["type"] == "extra_forbidden":
        message = "is not a catalog field (a typo?)"
    return f"{where}: {message}"


def resolve_keys(catalog: Catalog, environ: Mapping[str, str]) -> dict[str, str | None]:
    """Each entry's key read from the variable its ``api_key_env`` names (None without one).

    Raises :class:`CatalogError` naming the entry when that variable is unset or empty:
    a model a teacher can pick but that cannot answer would fail only mid-session.
    """
    keys: dict[str, str | None] = {}
    for index, entry in enumerate(catalog.entries):
        if entry.api_key_env is None:
            keys[entry.id] = None
            continue
        value = environ.get(entry.api_key_env, "").strip()
        if not value:
            raise CatalogError(
                f'models[{index}].api_key_env (entry "{entry.id}"): the variable '
                f"{entry.api_key_env} is not set"
            )
        keys[entry.id] = value
    return keys


__all__ = [
    "PROVIDERS",
    "Catalog",
    "CatalogError",
    "ModelEntry",
    "ModelProvider",
    "catalog_from_mapping",
    "cost_micros",
    "parse_catalog",
    "resolve_keys",
]
