"""Teacher pages over a real server: login, library forms, sessions, join links."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import TEACHER_EMAIL, TEACHER_PASSWORD, Site, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NewContext = Callable[..., BrowserContext]


def teacher_page(new_context: NewContext, route: str = "", *, phone: bool = False) -> Page:
    page = new_context(teacher=True, phone=phone).new_page()
    page.goto(f"/teacher#{route}")
    return page


def test_login_shows_errors_then_logs_in(new_context: NewContext) -> None:
    page = new_context().new_page()
    page.goto("/teacher")
    expect(page.get_by_role("heading", name="Teacher login")).to_be_visible()
    alert = page.locator("form.login [role=alert]")

    page.get_by_role("button", name="Log in").click()
    expect(alert).to_have_text("Enter your email and password.")
    expect(page.get_by_label("Email")).to_be_focused()

    page.get_by_label("Email").fill(TEACHER_EMAIL)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(alert).to_have_text("Wrong email or password.")
    screenshot(page, "teacher-login-error")

    # Throttling: five failures for one email, then the sixth try answers 429.
    page.get_by_label("Email").fill("nobody@example.org")
    for _ in range(5):
        page.get_by_label("Password").fill("wrong-password")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("button", name="Log in")).to_be_enabled()
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Log in").click()
    expect(alert).to_contain_text("Too many failed logins")

    page.get_by_label("Email").fill(TEACHER_EMAIL)
    page.get_by_label("Password").fill(TEACHER_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Sessions")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.locator("tbody tr[data-session-id]").first).to_be_visible()
    screenshot(page, "teacher-sessions")

    phone = new_context(teacher=True, phone=True).new_page()
    phone.goto("/teacher")
    expect(phone.locator("tbody tr[data-session-id]").first).to_be_visible()
    screenshot(phone, "teacher-sessions-phone")


def test_profile_form_shows_inline_field_errors(new_context: NewContext) -> None:
    page = teacher_page(new_context, "/profiles/new")
    name = page.get_by_label("Name *")
    age = page.get_by_label("Age")
    save = page.get_by_role("button", name="Create profile")

    save.click()  # checked in the browser first
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(page.locator('[data-error-for="name"]')).to_have_text("Enter a name.")

    name.fill("Jordan Lee")
    age.fill("150")
    for index, text in enumerate(["Lost their job last month", "Sleeps in the car"]):
        page.get_by_role("button", name="Add hidden fact").click()
        page.locator(f'[data-field="hidden_facts.{index}.fact"]').fill(text)
    save.click()  # the server answers 422 with fields={"age": ...}
    expect(page.locator('[data-error-for="age"]')).to_contain_text("120")
    expect(age).to_have_attribute("aria-invalid", "true")
    expect(name).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("form [role=alert]")).to_contain_text("Some fields are not valid")
    screenshot(page, "teacher-profile-errors")

    age.fill("41")
    save.click()
    expect(page.get_by_role("heading", name="Client profiles")).to_be_visible()
    item = page.locator(".item-list li", has_text="Jordan Lee")
    expect(item).to_contain_text("41 years")

    item.get_by_role("link", name="Edit Jordan Lee").click()
    expect(page.locator('[data-field="hidden_facts.0.fact"]')).to_have_value(
        "Lost their job last month"
    )
    expect(page.locator('[data-field="hidden_facts.1.fact"]')).to_have_value("Sleeps in the car")
    page.get_by_label("Pronouns").fill("she/her")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".item-list li", has_text="Jordan Lee")).to_contain_text("she/her")

    phone = teacher_page(new_context, "/profiles/new", phone=True)
    phone.get_by_role("button", name="Create profile").click()
    expect(phone.locator('[data-error-for="name"]')).to_be_visible()
    screenshot(phone, "teacher-profile-errors-phone")


def test_rubric_form_round_trip(new_context: NewContext) -> None:
    page = teacher_page(new_context, "/rubrics/new")
    page.get_by_label("Rubric name *").fill("Closing skills")
    page.get_by_role("button", name="Create rubric").click()
    expect(page.locator('[data-error-for="criteria.0.name"]')).to_have_text(
        "Enter a name for this criterion."
    )
    page.locator('[data-field="criteria.0.name"]').fill("Summarising")
    for index, text in enumerate(["Accurate summary", "Partial summary", "No summary"]):
        page.locator(f'[data-field="criteria.0.levels.{index}.descriptor"]').fill(text)
    page.locator('[data-field="criteria.0.levels.1.score"]').fill("3")  # same as level 0
    page.get_by_role("button", name="Create rubric").click()
    expect(page.locator('[data-error-for="criteria.0.levels"]')).to_contain_text("different score")
    screenshot(page, "teacher-rubric-errors")
    page.locator('[data-field="criteria.0.levels.1.score"]').fill("2")
    page.get_by_role("button", name="Create rubric").click()
    expect(page.locator(".item-list li", has_text="Closing skills")).to_contain_text("Summarising")


def test_deleting_a_profile_in_use_shows_the_409_message(new_context: NewContext) -> None:
    page = teacher_page(new_context, "/profiles")
    item = page.locator(".item-list li", has_text="Sam Rivera")
    item.get_by_role("button", name="Delete Sam Rivera").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Delete “Sam Rivera”?")
    dialog.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("alert").first).to_have_text(
        re.compile(r"This profile is used by \d+ session\(s\); delete or reassign them first\.")
    )
    expect(item).to_be_visible()
    screenshot(page, "teacher-profile-in-use")


def test_create_session_copy_link_and_open_it(new_context: NewContext, site: Site) -> None:
    context = new_context(teacher=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.base_url)
    page = context.new_page()
    page.goto("/teacher#/sessions")
    page.get_by_role("link", name="New session").click()
    expect(page.get_by_role("heading", name="Choosing time and tokens")).to_be_visible()

    page.get_by_role("button", name="Create session").click()
    expect(page.locator('[data-error-for="student_name"]')).to_have_text(
        "Enter the student's name."
    )
    page.get_by_label("Client profile *").select_option(label="Sam Rivera")
    page.get_by_label("Rubric *").select_option(label="First interview basics")
    page.get_by_label("Student name *").fill("Alex Kim")
    # This site allows 3 s to 3 h (SESSION_MIN_SECONDS=3): 1 to 180 whole minutes.
    page.get_by_label("Time limit (minutes) *").fill("181")
    page.get_by_role("button", name="Create session").click()
    expect(page.locator('[data-error-for="time_limit_seconds"]')).to_contain_text("1 to 180")
    screenshot(page, "teacher-session-form-errors")
    page.get_by_role("button", name=re.compile("Standard interview")).click()
    expect(page.get_by_label("Time limit (minutes) *")).to_have_value("30")
    page.get_by_label("Student email").fill("alex@example.org")
    page.get_by_role("button", name="Create session").click()

    expect(page.get_by_role("heading", name="Session created")).to_be_visible()
    link = page.get_by_label("Join link")
    join_url = link.input_value()
    assert re.match(re.escape(site.base_url) + r"/join/\S+$", join_url), join_url
    page.get_by_role("button", name="Copy join link").click()
    expect(page.locator(".copy-status")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == join_url
    screenshot(page, "teacher-session-created")

    student = new_context(phone=True).new_page()
    student.goto(join_url)
    expect(student).to_have_url(re.compile(r"/s/[0-9a-f-]{36}$"))
    expect(student.get_by_role("heading", name="Interview with Sam Rivera")).to_be_visible()
    expect(student.locator("#status-badge")).to_have_text("Not started")
    expect(student.locator("#waiting")).to_contain_text("Waiting for your teacher")
    expect(student.get_by_label("Your message")).to_be_disabled()
    screenshot(student, "student-waiting-phone")

    page.goto("/teacher#/sessions?status=created")
    row = page.locator("tbody tr", has_text="Alex Kim")
    expect(row.locator(".badge")).to_have_text("Not started")
    expect(row).to_contain_text("30:00")


def test_review_page_shows_audit_and_transcript_state(new_context: NewContext, site: Site) -> None:
    session: dict[str, Any] = site.new_session(student_name="Casey Review")
    page = teacher_page(new_context, f"/sessions/{session['id']}")
    expect(page.get_by_role("heading", name=re.compile("Session: Casey Review"))).to_be_visible()
    audit = page.locator("table.audit")
    expect(audit).to_contain_text("created")
    expect(audit).to_contain_text("started")
    # Either the stored transcript or the explicit "not available yet" state.
    expect(page.locator('.transcript, [data-state="not-available"]').first).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("Tokens used")
    screenshot(page, "teacher-review")
