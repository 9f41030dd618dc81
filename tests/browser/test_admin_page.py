"""The admin page in Chromium: an admin made with ``vclient create-user --role admin``
logs in at /admin, sees every teacher, has a bad cap refused in the form and sets a
teacher's token and money caps (the API then holds them, in micros); a teacher who is
not an admin is refused."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Site, Teacher, screenshot
from tests.browser.helpers import NewContext
from tests.support.servers import run_cli

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ADMIN = Teacher("admin@example.org", "browser-admin-password")


def create_admin(site: Site) -> None:
    created = run_cli(
        [
            "create-user",
            "--role",
            "admin",
            "--email",
            ADMIN.email,
            "--name",
            "Ada Admin",
            "--password",
            ADMIN.password,
        ],
        site.env,
        site.work,
    )
    assert created.stdout.startswith(f"created admin {ADMIN.email}")


def test_an_admin_sets_a_teachers_caps(new_context: NewContext, site: Site) -> None:
    teacher = site.new_teacher("capped-by-admin@example.org")
    create_admin(site)
    page = new_context().new_page()
    page.goto("/admin")
    page.get_by_label("Email").fill(ADMIN.email)
    page.get_by_label("Password").fill(ADMIN.password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Teachers and monthly caps")).to_be_visible()
    table = page.get_by_role("table", name="Every teacher's usage this month and monthly caps")
    row = table.locator("tr", has_text=teacher.email)
    expect(row).to_have_count(1)
    expect(row.locator('[data-cell="money-cap"]')).to_have_text("none")
    expect(table.locator("tr", has_text="teacher@example.org")).to_have_count(1)

    row.get_by_role("button", name=f"Edit caps of {teacher.email}").click()
    form = page.get_by_role("form", name=f"Monthly caps of {teacher.email}")
    tokens = form.get_by_label("Monthly token cap")
    money = form.get_by_label("Monthly money cap (USD)")
    expect(tokens).to_be_focused()
    tokens.fill("12,000")
    money.fill("0.1234567")
    form.get_by_role("button", name="Save caps").click()
    expect(form.locator('[data-error-for="monthly_token_cap"]')).to_contain_text("whole number")
    expect(form.locator('[data-error-for="monthly_cost_micros_cap"]')).to_contain_text(
        "up to 6 decimals"
    )
    expect(tokens).to_have_attribute("aria-invalid", "true")
    screenshot(page, "admin-caps-invalid")

    tokens.fill("12000")
    money.fill("2.5")
    form.get_by_role("button", name="Save caps").click()
    expect(page.get_by_role("status").filter(has_text="saved")).to_have_text(
        f"Caps of {teacher.email} saved."
    )
    expect(form).to_be_hidden()
    expect(row.locator('[data-cell="token-cap"]')).to_have_text("12,000")
    expect(row.locator('[data-cell="money-cap"]')).to_have_text("$2.50")
    expect(row.get_by_role("button", name=f"Edit caps of {teacher.email}")).to_be_focused()
    screenshot(page, "admin-teachers")

    with site.teacher_api(ADMIN) as api:
        rows: list[dict[str, Any]] = api.get("/api/admin/teachers").json()["items"]
    mine = next(r for r in rows if r["email"] == teacher.email)
    assert (mine["monthly_token_cap"], mine["monthly_cost_micros_cap"]) == (12_000, 2_500_000)
    with site.teacher_api(teacher) as api:
        month = api.get("/api/usage").json()["month"]
    assert (month["cap"], month["cost_micros_cap"]) == (12_000, 2_500_000)

    # Cleared again: empty fields are no caps of their own.
    row.get_by_role("button", name=f"Edit caps of {teacher.email}").click()
    expect(money).to_have_value("2.5")
    tokens.fill("")
    money.fill("")
    form.get_by_role("button", name="Save caps").click()
    expect(row.locator('[data-cell="money-cap"]')).to_have_text("none")
    expect(row.locator('[data-cell="token-cap"]')).to_have_text("none")


def test_a_teacher_is_refused(new_context: NewContext, site: Site) -> None:
    page = new_context(teacher=True).new_page()
    page.goto("/admin")
    expect(page.get_by_role("heading", name="Administrators only")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("teacher@example.org is not an administrator")
    expect(page.get_by_role("table")).to_have_count(0)
