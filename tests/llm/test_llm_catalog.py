"""The model catalog, pure: parsing, the errors a bad file gets, keys and cost."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from llm.catalog import Catalog, CatalogError, ModelEntry, cost_micros, parse_catalog, resolve_keys

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "catalog.example.toml"

ENTRY = """
[[models]]
id = "{id}"
name = "Model {id}"
provider = "{provider}"
model = "m-{id}"
{extra}
context_window = 32000
max_reply_tokens = 400
"""


def entry(id: str = "a", provider: str = "scripted", extra: str = "") -> str:
    return ENTRY.format(id=id, provider=provider, extra=extra)


def error_of(text: str) -> str:
    with pytest.raises(CatalogError) as caught:
        parse_catalog(text)
    return str(caught.value)


def test_the_documented_example_parses() -> None:
    catalog = parse_catalog(EXAMPLE.read_text())
    assert catalog.currency == "USD"
    assert catalog.ids == ("claude-sonnet", "mistral-small", "llama-local", "offline")
    assert catalog.default.id == "claude-sonnet"
    sonnet = catalog.entry_for("claude-sonnet")
    assert sonnet.provider == "anthropic" and sonnet.model == "claude-sonnet-4-5"
    assert sonnet.api_key_env == "ANTHROPIC_API_KEY" and sonnet.context_window == 200_000
    assert sonnet.input_price_per_mtok == Decimal("3.0")
    local = catalog.entry_for("llama-local")
    assert local.base_url == "http://127.0.0.1:11434/v1" and not local.priced
    assert catalog.entry_for("offline").input_price_per_mtok == Decimal(0)


def test_defaults_first_entry_and_usd() -> None:
    catalog = parse_catalog(entry("a") + entry("b"))
    assert catalog.default.id == "a" and catalog.currency == "USD"
    assert catalog.entry_for(None).id == "a"
    assert catalog.entry_for("gone-since").id == "a"  # a session from an older catalog
    assert catalog.get("gone-since") is None


def test_currency_and_named_default() -> None:
    catalog = parse_catalog('currency = "EUR"\ndefault = "b"\n' + entry("a") + entry("b"))
    assert catalog.currency == "EUR" and catalog.default.id == "b"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("models = [", "not valid TOML"),
        ('currency = "USD"', "models: is required"),
        ("models = []", "models: List should have at least 1 item"),
        ('currency = "dollars"\n' + entry(), "currency: String should match pattern"),
        ('default = "zzz"\n' + entry(), "default: no entry has the id 'zzz'"),
        ("colour = 1\n" + entry(), "colour: is not a catalog field"),
        (entry("a") + entry("Bad Id"), 'models[1].id (entry "Bad Id"): String should match'),
        (entry("a") + entry("a"), "models[1].id (entry \"a\"): 'a' is used by an earlier entry"),
        (entry(provider="gemini"), 'models[0].provider (entry "a"): Input should be'),
        (entry(extra='api_key = "sk-1"'), 'models[0].api_key (entry "a"): is not a catalog field'),
        (
            entry(extra="input_price_per_mtok = -1.0\noutput_price_per_mtok = 1.0"),
            'models[0].input_price_per_mtok (entry "a"): Input should be greater than or equal',
        ),
        (
            entry(extra='input_price_per_mtok = "3"\noutput_price_per_mtok = 1.0'),
            "models[0].input_price_per_mtok",
        ),
        (
            entry(extra="output_price_per_mtok = 1.0"),
            'models[0].input_price_per_mtok (entry "a"): give both prices or neither',
        ),
        (
            entry(provider="mistral"),
            'models[0].api_key_env (entry "a"): a mistral model needs the name',
        ),
        (
            entry(provider="anthropic", extra='api_key_env = "not a name"'),
            'models[0].api_key_env (entry "a"): String should match pattern',
        ),
        (entry(provider="openai"), 'models[0].base_url (entry "a"): an openai (compatible)'),
        (entry(extra='base_url = "ftp://x"'), 'models[0].base_url (entry "a"): String should'),
        (
            entry("a") + entry("b").replace("max_reply_tokens = 400", "max_reply_tokens = 20000"),
            'models[1].max_reply_tokens (entry "b"): must be below half of context_window',
        ),
        (
            entry().replace("context_window = 32000", "context_window = 32000000000"),
            'models[0].context_window (entry "a"): Input should be less than or equal',
        ),
        (entry().replace('name = "Model a"', ""), 'models[0].name (entry "a"): is required'),
        ("models = [1]", "models[0]: Input should be a valid dictionary"),
    ],
)
def test_a_bad_catalog_names_the_entry_and_field(text: str, expected: str) -> None:
    assert expected in error_of(text)


def test_integer_prices_are_prices() -> None:
    catalog = parse_catalog(entry(extra="input_price_per_mtok = 3\noutput_price_per_mtok = 15"))
    assert catalog.default.output_price_per_mtok == Decimal(15)


def test_keys_come_from_the_named_variables() -> None:
    text = entry("a", "anthropic", 'api_key_env = "KEY_A"') + entry(
        "b", "openai", 'base_url = "http://127.0.0.1:1/v1"'
    )
    catalog = parse_catalog(text)
    assert resolve_keys(catalog, {"KEY_A": "sk-a", "OTHER": "x"}) == {"a": "sk-a", "b": None}
    with pytest.raises(CatalogError) as caught:
        resolve_keys(catalog, {"KEY_A": "  "})
    message = str(caught.value)
    assert message == 'models[0].api_key_env (entry "a"): the variable KEY_A is not set'


def priced(inp: str | None, out: str | None) -> ModelEntry:
    return ModelEntry(
        id="p",
        name="P",
        provider="scripted",
        model="s",
        context_window=10_000,
        max_reply_tokens=100,
        input_price_per_mtok=None if inp is None else Decimal(inp),
        output_price_per_mtok=None if out is None else Decimal(out),
    )


def test_cost_is_millionths_rounded_half_up() -> None:
    # 1,000 in at $3/Mtok + 200 out at $15/Mtok = $0.006 = 6,000 micros.
    assert cost_micros(priced("3.0", "15.0"), 1_000, 200) == 6_000
    # 1 in at $0.5 = 0.5 micros: half rounds up; 1 in at $0.49 rounds down.
    assert cost_micros(priced("0.5", "0"), 1, 0) == 1
    assert cost_micros(priced("0.49", "0"), 1, 0) == 0
    # 3 out at $0.1/Mtok = 0.3 micros exactly (no float drift to 0.30000000000000004).
    assert cost_micros(priced("0", "0.1"), 0, 5) == 1  # 0.5 -> 1
    assert cost_micros(priced("0", "0.1"), 0, 3) == 0
    assert cost_micros(priced("0", "0"), 10**6, 10**6) == 0
    assert cost_micros(priced(None, None), 1_000, 1_000) is None
    assert cost_micros(None, 1_000, 1_000) is None


def test_priced_as_finds_a_model_by_provider_and_name() -> None:
    catalog = parse_catalog(
        entry("a", "openai", 'base_url = "http://h/v1"') + entry("b", "scripted")
    )
    assert catalog.priced_as("openai", "m-a") is catalog.get("a")
    assert catalog.priced_as("anthropic", "m-a") is None


def test_an_empty_catalog_cannot_be_built() -> None:
    with pytest.raises(CatalogError):
        Catalog(())
