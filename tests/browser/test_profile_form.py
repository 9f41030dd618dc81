"""The profile form's hidden facts editor over a real server: add, remove and reorder facts
(by keyboard), a per-field error from the API's 422 next to the right fact, and the order
kept after saving and reloading. Style and avoided topics round-trip too."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from llm.base import STYLES
from tests.browser.conftest import Site, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NewContext = Callable[..., BrowserContext]

JOB = "Lost their job in March."
CAR = "Sleeps in the car some nights. <b>not bold</b>"
BROTHER = "Their brother stopped speaking to them."


def _fact(page: Page, index: int, name: str) -> str:
    return f'[data-field="hidden_facts.{index}.{name}"]'


def _add_fact(page: Page, index: int, text: str, *, topics: str = "", trust: str = "") -> None:
    page.get_by_role("button", name="Add hidden fact").click()
    fact = page.locator(_fact(page, index, "fact"))
    expect(fact).to_be_focused()  # the new fact's first field takes the keyboard
    fact.fill(text)
    page.locator(_fact(page, index, "topics")).fill(topics)
    page.locator(_fact(page, index, "trust_needed")).fill(trust)


def _facts(page: Page) -> list[str]:
    count = page.locator("fieldset.profile-fact").count()
    return [page.locator(_fact(page, i, "fact")).input_value() for i in range(count)]


def test_hidden_facts_add_reorder_error_and_reload(new_context: NewContext, site: Site) -> None:
    page = new_context(teacher=True).new_page()
    page.goto("/teacher#/profiles/new")
    expect(page.get_by_text("No hidden facts yet.")).to_be_visible()
    style = page.get_by_label("Conversational style")
    options = style.locator("option").evaluate_all("(nodes) => nodes.map((n) => n.value)")
    assert options == list(STYLES)
    expect(style).to_have_value("plain")

    page.get_by_label("Name *").fill("Riley Chen")
    style.select_option("upset")
    page.get_by_label("Topics they avoid").fill("religion, their ex, Religion")
    _add_fact(page, 0, JOB, topics="work, job")
    _add_fact(page, 1, CAR, trust="150")
    page.locator(_fact(page, 1, "disclosure")).fill("Some nights I just sleep in the car.")
    _add_fact(page, 2, BROTHER, topics="brother, family", trust="80")
    _add_fact(page, 3, "A fact to drop")
    page.get_by_role("button", name="Remove hidden fact 4").click()
    expect(page.locator(_fact(page, 2, "fact"))).to_be_focused()
    assert _facts(page) == [JOB, CAR, BROTHER]
    expect(page.get_by_role("button", name="Move hidden fact 1 up")).to_be_disabled()
    expect(page.get_by_role("button", name="Move hidden fact 3 down")).to_be_disabled()

    # Reorder by keyboard: the brother fact goes to the top in two presses of Enter, the
    # focus following it (at the top "up" is disabled, so it lands on "down").
    page.get_by_role("button", name="Move hidden fact 3 up").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Move hidden fact 2 up")).to_be_focused()
    assert _facts(page) == [JOB, BROTHER, CAR]
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Move hidden fact 1 down")).to_be_focused()
    assert _facts(page) == [BROTHER, JOB, CAR]
    expect(page.locator("#announcer")).to_have_text("Hidden fact moved to position 1 of 3.")
    # Values travel with their fact.
    expect(page.locator(_fact(page, 0, "topics"))).to_have_value("brother, family")
    expect(page.locator(_fact(page, 2, "trust_needed"))).to_have_value("150")

    page.get_by_role("button", name="Create profile").click()
    trust = page.locator(_fact(page, 2, "trust_needed"))
    expect(page.locator('[data-error-for="hidden_facts.2.trust_needed"]')).to_contain_text("100")
    expect(trust).to_have_attribute("aria-invalid", "true")
    expect(trust).to_be_focused()
    expect(page.locator(_fact(page, 0, "trust_needed"))).not_to_have_attribute(
        "aria-invalid", "true"
    )
    expect(page.locator("form [role=alert]")).to_contain_text("Some fields are not valid")
    screenshot(page, "teacher-profile-facts-error")

    trust.fill("65")
    page.get_by_role("button", name="Create profile").click()
    item = page.locator(".item-list li", has_text="Riley Chen")
    expect(item).to_contain_text("style: upset")

    with site.teacher_api() as api:
        items = api.get("/api/profiles").json()["items"]
    stored = next(p for p in items if p["name"] == "Riley Chen")
    assert stored["hidden_facts"] == [
        {"fact": BROTHER, "disclosure": "", "topics": ["brother", "family"], "trust_needed": 80},
        # No trust given: the second of three needs 55.
        {"fact": JOB, "disclosure": "", "topics": ["work", "job"], "trust_needed": 55},
        {
            "fact": CAR,
            "disclosure": "Some nights I just sleep in the car.",
            "topics": [],
            "trust_needed": 65,
        },
    ]
    assert (stored["style"], stored["avoid"]) == ("upset", ["religion", "their ex"])

    page.goto(f"/teacher#/profiles/{stored['id']}")
    page.reload()
    expect(page.get_by_role("heading", name="Edit Riley Chen")).to_be_visible()
    expect(page.locator("fieldset.profile-fact legend")).to_have_text(
        ["Hidden fact 1", "Hidden fact 2", "Hidden fact 3"]
    )
    assert _facts(page) == [BROTHER, JOB, CAR]
    expect(page.locator(_fact(page, 1, "trust_needed"))).to_have_value("55")
    expect(page.locator(_fact(page, 1, "topics"))).to_have_value("work, job")
    expect(page.get_by_label("Conversational style")).to_have_value("upset")
    expect(page.get_by_label("Topics they avoid")).to_have_value("religion, their ex")
    # Text stays text: the markup in a fact was never made into an element.
    expect(page.locator("form b")).to_have_count(0)
    screenshot(page, "teacher-profile-facts")

    phone = new_context(teacher=True, phone=True).new_page()
    phone.goto(f"/teacher#/profiles/{stored['id']}")
    expect(phone.locator("fieldset.profile-fact")).to_have_count(3)
    screenshot(phone, "teacher-profile-facts-phone")


def test_a_blank_fact_is_caught_in_the_browser(new_context: NewContext) -> None:
    page = new_context(teacher=True).new_page()
    page.goto("/teacher#/profiles/new")
    page.get_by_label("Name *").fill("Blank Fact")
    page.get_by_role("button", name="Add hidden fact").click()
    page.get_by_role("button", name="Create profile").click()
    expect(page.locator('[data-error-for="hidden_facts.0.fact"]')).to_have_text(
        "Write what the client keeps back, or remove this fact."
    )
    expect(page.locator(_fact(page, 0, "fact"))).to_be_focused()
