"""The AI model in the teacher's forms, on a server with a two-model LLM_CATALOG: the
profile form saves a default model, the session form offers the catalog (the site's
default first chosen), follows the chosen profile's default, describes the model's
prices, and the created session is pinned to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Site, _require_chromium, _serve, screenshot
from tests.browser.helpers import NewContext, open_teacher

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CATALOG = """
default = "practice"

[[models]]
id = "practice"
name = "Practice client"
provider = "scripted"
model = "scripted"
context_window = 100000
max_reply_tokens = 400

[[models]]
id = "careful"
name = "Careful client"
provider = "scripted"
model = "scripted"
context_window = 50000
max_reply_tokens = 300
input_price_per_mtok = 1.5
output_price_per_mtok = 4.0
"""


@pytest.fixture(scope="module")
def catalog_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    _require_chromium()
    work = tmp_path_factory.mktemp("browser-catalog-site")
    (work / "catalog.toml").write_text(CATALOG)
    with _serve(work, {"LLM_CATALOG": str(work / "catalog.toml")}) as served:
        yield served


def test_forms_offer_the_catalog_and_follow_the_profile(
    new_context: NewContext, catalog_site: Site
) -> None:
    page = open_teacher(new_context, "/profiles/new", on=catalog_site)
    default_model = page.get_by_label("Default AI model")
    expect(default_model).to_have_value("")
    expect(default_model.locator("option")).to_have_text(
        ["The site's default (Practice client)", "Practice client (default)", "Careful client"]
    )
    page.get_by_label("Name *").fill("Riley Chen")
    default_model.select_option("careful")
    expect(page.get_by_text("50,000-token context")).to_be_visible()
    page.get_by_role("button", name="Create profile").click()
    expect(page.get_by_role("link", name="Riley Chen")).to_be_visible()

    with catalog_site.teacher_api() as api:
        profiles = {p["name"]: p for p in api.get("/api/profiles").json()["items"]}
    riley = profiles["Riley Chen"]
    assert riley["default_model"] == "careful"
    other = next(p for name, p in profiles.items() if name != "Riley Chen")

    page.goto("/teacher#/sessions/new")
    model = page.get_by_label("AI model")
    expect(model.locator("option")).to_have_text(["Practice client (default)", "Careful client"])
    expect(model).to_have_value("practice")
    hint = page.locator(".field", has=model).locator(".hint")
    expect(hint).to_have_text(
        "Built-in scripted client · 100,000-token context · replies up to 400 tokens · no price set"
    )
    page.get_by_label("Client profile *").select_option(riley["id"])
    expect(model).to_have_value("careful")
    expect(hint).to_contain_text("USD 1.5 in, USD 4 out per million tokens")
    page.get_by_label("Client profile *").select_option(other["id"])
    expect(model).to_have_value("practice")
    page.get_by_label("Client profile *").select_option(riley["id"])
    page.get_by_label("Rubric *").select_option(index=1)
    page.get_by_label("Student name *").fill("Kim")
    screenshot(page, "session-form-model")
    page.get_by_role("button", name="Create session").click()
    expect(page.get_by_role("heading", name="Session created")).to_be_visible()

    with catalog_site.teacher_api() as api:
        [session] = [
            s for s in api.get("/api/sessions").json()["items"] if s["student_name"] == "Kim"
        ]
    assert session["model"] == "careful"
