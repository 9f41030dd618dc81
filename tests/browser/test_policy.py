"""The site's policy in the browser: the create form follows the server's limits, a say the
server refuses keeps its text, and the usage panel shows the monthly cap. All on
``policy_site`` (10-45 min, 2,000-50,000 tokens, a 500-token monthly cap, 4 words/s)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Site, screenshot
from tests.browser.helpers import (
    NewContext,
    open_student,
    open_teacher,
    say,
    wait_for_replies,
    wait_for_usage,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DASH = "\u2013"  # the en dash of ranges in the page's text


def test_create_form_follows_the_server_limits(new_context: NewContext, policy_site: Site) -> None:
    page = open_teacher(new_context, "/sessions/new", on=policy_site)
    guide = page.locator(".guide")
    expect(guide.locator(".guide__limits")).to_have_text(
        f"This site allows 10{DASH}45 minutes and 2,000{DASH}50,000 tokens per session."
    )
    # Presets outside the limits are not offered (the long one is 60 min, 90,000 tokens).
    expect(guide.get_by_role("button", name=re.compile("Short practice"))).to_be_visible()
    expect(guide.get_by_role("button", name=re.compile("Long interview"))).to_have_count(0)
    minutes = page.get_by_label("Time limit (minutes) *")
    tokens = page.get_by_label("Token budget *")
    expect(minutes).to_have_attribute("min", "10")
    expect(minutes).to_have_attribute("max", "45")
    expect(tokens).to_have_attribute("max", "50000")
    expect(page.get_by_text(f"10{DASH}45 minutes of active time.")).to_be_visible()

    page.get_by_label("Client profile *").select_option(label="Sam Rivera")
    page.get_by_label("Rubric *").select_option(label="First interview basics")
    page.get_by_label("Student name *").fill("Limits Student")
    minutes.fill("60")
    tokens.fill("60000")
    page.get_by_role("button", name="Create session").click()
    expect(page.locator('[data-error-for="time_limit_seconds"]')).to_have_text(
        "Enter whole minutes from 10 to 45."
    )
    expect(page.locator('[data-error-for="token_budget"]')).to_have_text(
        "Enter a whole number from 2,000 to 50,000."
    )
    screenshot(page, "teacher-session-form-limits")

    minutes.fill("45")
    tokens.fill("50000")
    page.get_by_role("button", name="Create session").click()
    expect(page.get_by_role("heading", name="Session created")).to_be_visible()
    with policy_site.teacher_api() as api:
        created = [
            s
            for s in api.get("/api/sessions").json()["items"]
            if s["student_name"] == "Limits Student"
        ]
    assert [(s["time_limit_seconds"], s["token_budget"]) for s in created] == [(2700, 50000)]

    phone = open_teacher(new_context, "/sessions/new", on=policy_site, phone=True)
    expect(phone.locator(".guide__limits")).to_contain_text(f"10{DASH}45 minutes")
    screenshot(phone, "teacher-session-form-limits-phone")


def test_refused_says_keep_their_text(new_context: NewContext, policy_site: Site) -> None:
    teacher = policy_site.new_teacher("capped@example.org")
    session = policy_site.new_session(teacher=teacher, student_name="Capped Student")
    student = open_student(new_context, session, on=policy_site)
    box = student.get_by_label("Your message")
    notice = student.locator("#composer-notice")

    # Sending while the client is still answering is refused; the text stays.
    say(student, "Hi Sam, I'm glad you came.")
    expect(student.locator(".msg--streaming .msg__text")).to_have_text(re.compile(r"\S"))
    say(student, "What would you like to talk about?")
    expect(notice).to_have_text(re.compile("The client is still answering"))
    expect(box).to_have_value("What would you like to talk about?")
    screenshot(student, "student-say-refused-streaming")
    wait_for_replies(student, 1)

    # The first reply used the teacher's whole monthly cap: the server refuses the next say.
    with policy_site.teacher_api(teacher) as api:
        assert wait_for_usage(api, 500) >= 500
    box.press("Enter")
    expect(notice).to_have_attribute("data-code", "monthly_cap_reached")
    expect(notice).to_have_text(
        re.compile(
            r"^Not sent\. Your teacher's monthly allowance for AI replies is used up.*"
            r"Your text is still in the box\.$"
        )
    )
    expect(box).to_have_value("What would you like to talk about?")
    expect(student.locator(".msg--student")).to_have_count(1)
    expect(student.locator(".msg--pending")).to_have_count(0)
    expect(student.locator("#status-badge")).to_have_text("Active")
    screenshot(student, "student-say-refused-cap")

    # The teacher sees the month's usage against the cap, by session and by model.
    teacher_page = open_teacher(new_context, "/sessions", on=policy_site, teacher=teacher)
    usage = teacher_page.get_by_role("region", name="Usage this month")
    expect(usage.locator(".usage__cap")).to_be_visible()
    expect(usage.locator(".usage__cap")).to_have_class(re.compile("is-critical"))
    expect(usage.locator(".meter__note")).to_contain_text(re.compile(r"of 500 tokens"))
    expect(usage.get_by_role("status")).to_contain_text("The monthly cap is reached")
    row = usage.locator("tbody tr", has_text="Capped Student")
    expect(row.locator("td").nth(1)).to_have_text("1")
    usage.get_by_role("button", name="By model").click()
    expect(usage.locator("tbody tr")).to_have_count(1)
    expect(usage.locator("tbody tr td").first).to_have_text("scripted")
    screenshot(teacher_page, "teacher-usage")
    phone = open_teacher(new_context, "/sessions", on=policy_site, teacher=teacher, phone=True)
    expect(phone.locator(".usage .usage__cap")).to_be_visible()
    screenshot(phone, "teacher-usage-phone")
