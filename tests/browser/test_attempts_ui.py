"""Attempts and toasts in Chromium: the teacher restarts through the dialog and sees
toasts, the student's open page and an observer's tile move to the new attempt by
themselves, the old attempt's transcript stays readable; a failing operation toasts its
error; a student restarts when the session allows it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import Site, Teacher, screenshot
from tests.browser.helpers import NewContext, open_student, open_teacher, say, wait_for_replies

pytestmark = [pytest.mark.browser, pytest.mark.slow]

QUESTION = "Hello, I'm Robin. What would you like to talk about today?"
UNSENT = "words typed but not sent yet"


def session_for(site: Site, teacher: Teacher, **overrides: Any) -> dict[str, Any]:
    with site.teacher_api(teacher) as api:
        profile = api.get("/api/profiles").json()["items"][0]
        rubric = api.get("/api/rubrics").json()["items"][0]
        body = {
            "profile_id": profile["id"],
            "rubric_id": rubric["id"],
            "student_name": "Robin Park",
            "time_limit_seconds": 1200,
            "token_budget": 5000,
            **overrides,
        }
        created = api.post("/api/sessions", json=body)
        created.raise_for_status()
        session: dict[str, Any] = created.json()
        api.post(f"/api/sessions/{session['id']}/start").raise_for_status()
    return session


def toasts(page: Page, region: str = "status") -> Any:
    return page.locator(f".toasts [role={region}] .toast")


def test_teacher_restart_moves_the_student_and_the_observer(
    new_context: NewContext, site: Site
) -> None:
    teacher = site.new_teacher("attempts@example.org")
    first = session_for(site, teacher)
    student = open_student(new_context, first)
    say(student, QUESTION)
    wait_for_replies(student, 1)
    student.get_by_label("Your message").fill(UNSENT)
    observer = open_teacher(new_context, f"/observe/{first['id']}", teacher=teacher)
    expect(observer.locator(".tile__presence")).to_contain_text("Student online")

    review = open_teacher(new_context, f"/sessions/{first['id']}", teacher=teacher)
    heading = review.get_by_role("heading", name=re.compile("Session: Robin Park"))
    before = heading.bounding_box()
    review.get_by_role("button", name="Restart").click()
    dialog = review.get_by_role("dialog", name="Restart Robin Park's session?")
    expect(dialog).to_contain_text(
        "Attempt 1 ends now (a reply in progress stops) and attempt 2 starts at once with a "
        "fresh 20 min clock and 5,000 tokens; Robin Park's open page moves to it by itself. "
        "Attempt 1's transcript, feedback and usage are kept."
    )
    dialog.get_by_role("button", name="Start attempt 2").click()

    done = toasts(review)
    expect(done).to_have_text(
        re.compile("Attempt 2 of Robin Park's session started. Attempt 1 is kept.")
    )
    assert review.evaluate("getComputedStyle(document.querySelector('.toasts')).position") == (
        "fixed"
    )
    # The review moved to attempt 2, which lists both attempts.
    expect(review.locator(".attempts-table tbody tr")).to_have_count(2)
    second_id = review.locator(".attempts-table tbody tr").nth(1).get_attribute("data-attempt-id")
    assert second_id and second_id != first["id"]
    assert review.url.endswith(f"#/sessions/{second_id}")
    after = review.get_by_role("heading", name=re.compile("Session: Robin Park")).bounding_box()
    assert before and after and (before["x"], before["y"]) == (after["x"], after["y"])
    screenshot(review, "teacher-restart-toast")
    done.get_by_role("button", name="Dismiss notification").click()
    expect(done).to_have_count(0)

    # The student's page moved by itself, with what was typed but not sent.
    expect(student).to_have_url(re.compile(f"/s/{second_id}$"))
    expect(student.locator("#status-badge")).to_have_text("Active")
    expect(student.get_by_label("Your message")).to_have_value(UNSENT)
    expect(student.locator(".msg--client")).to_have_count(0)
    # The observer's tile follows too.
    expect(observer.locator(f'.tile[data-session-id="{second_id}"]')).to_be_visible()
    expect(toasts(observer)).to_contain_text("now observing attempt 2")

    # Attempt 1 stays readable from attempt 2's page.
    student.get_by_role("link", name="Attempt 1: transcript and feedback").click()
    expect(student.locator("#end-reason")).to_have_text(
        "This attempt ended because a new attempt started."
    )
    saved = student.locator("#end-transcript[data-source=saved]")
    expect(saved.locator(".msg--student .msg__text")).to_have_text(QUESTION)
    expect(saved.locator(".msg--client")).to_have_count(1)
    student.get_by_role("button", name="Continue in attempt 2").click()
    expect(student).to_have_url(re.compile(f"/s/{second_id}$"))


def test_a_list_read_mid_restart_is_read_again_once_the_new_attempt_starts(
    new_context: NewContext, site: Site
) -> None:
    """The race CI met: a restart moves the pages (``session.restarted``) before it ends
    the old attempt and starts the new one (realtime/attempts.py), so the new attempt's
    page can read the list in between: attempt 1 still active, attempt 2 not started.
    That read is pinned here by answering the page's first read of attempt 2 with the
    list as the server held it in that moment; the new attempt's start must bring the
    transcript link of attempt 1 all the same."""
    teacher = site.new_teacher("mid-restart@example.org")
    first = session_for(site, teacher)
    student = open_student(new_context, first)
    staged: list[str] = []

    def as_in_the_restarts_middle(route: Route) -> None:
        response = route.fetch()
        info = response.json()
        if info["id"] != first["id"] and not staged:
            staged.append(info["id"])
            info["status"] = "created"
            for attempt in info["attempts"]:
                attempt["status"] = "active" if attempt["id"] == first["id"] else "created"
        route.fulfill(response=response, json=info)

    student.route(re.compile(r"/api/student/sessions/[0-9a-f-]+$"), as_in_the_restarts_middle)
    with site.teacher_api(teacher) as api:
        api.post(f"/api/sessions/{first['id']}/restart").raise_for_status()

    expect(student.locator("#status-badge")).to_have_text("Active")
    assert staged and student.url.endswith(f"/s/{staged[0]}")
    expect(student.get_by_role("link", name="Attempt 1: transcript and feedback")).to_be_visible()
    expect(student.locator("#attempts-list li").nth(1)).to_contain_text("this one, active")


def test_a_failing_operation_toasts_its_error(new_context: NewContext, site: Site) -> None:
    teacher = site.new_teacher("toast-errors@example.org")
    session = session_for(site, teacher)
    review = open_teacher(new_context, f"/sessions/{session['id']}", teacher=teacher)
    expect(review.get_by_role("button", name="Pause")).to_be_visible()
    review.get_by_label("Let the student restart the session").check()
    expect(toasts(review)).to_have_text(re.compile("Robin Park may now restart the session."))
    with site.teacher_api(teacher) as api:
        assert api.get(f"/api/sessions/{session['id']}").json()["student_may_restart"] is True
    # Ended behind the page's back: the page's Pause meets the server's 409.
    with site.teacher_api(teacher) as api:
        api.post(f"/api/sessions/{session['id']}/end").raise_for_status()
    details = review.locator(".review__side")
    before = details.bounding_box()
    review.get_by_role("button", name="Pause").click()
    failed = toasts(review, "alert")
    expect(failed).to_have_text(
        re.compile(r"Could not pause Robin Park's session: Cannot pause a session that is comp")
    )
    expect(failed.get_by_role("button", name="Dismiss notification")).to_be_visible()
    # Two toasts on screen now, and nothing on the page moved or grew.
    expect(review.locator(".toasts .toast")).to_have_count(2)
    assert details.bounding_box() == before
    screenshot(review, "teacher-toast-error")


def test_a_student_allowed_to_restart_starts_a_new_attempt(
    new_context: NewContext, site: Site
) -> None:
    teacher = site.new_teacher("student-restart@example.org")
    first = session_for(site, teacher, student_may_restart=True)
    student = open_student(new_context, first)
    say(student, QUESTION)
    wait_for_replies(student, 1)
    student.get_by_role("button", name="Start a new attempt").click()
    dialog = student.get_by_role("dialog", name="Start attempt 2?")
    expect(dialog).to_contain_text("Your conversation in attempt 1 is kept")
    dialog.get_by_role("button", name="Start attempt 2").click()
    expect(student).to_have_url(re.compile(r"/s/(?!" + first["id"] + r")[0-9a-f-]+$"))
    expect(student.locator("#status-badge")).to_have_text("Active")
    expect(student.locator("#attempts-list li")).to_have_count(2)
    expect(student.locator("#attempts-list li").nth(1)).to_have_attribute("aria-current", "page")


def test_the_form_allows_restarting_and_start_and_copy_toast(
    new_context: NewContext, site: Site
) -> None:
    teacher = site.new_teacher("form-restart@example.org")
    context = new_context(teacher=teacher)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.base_url)
    page = context.new_page()
    page.goto("/teacher#/sessions/new")
    page.get_by_label("Student name *").fill("Lee Form")
    page.get_by_label("Let the student restart the session").check()
    page.get_by_role("button", name="Create session").click()
    expect(page.get_by_role("heading", name="Session created")).to_be_visible()
    page.get_by_role("button", name="Copy join link").click()
    expect(toasts(page).locator(".toast__text")).to_have_text(
        ["Join link copied to the clipboard."]
    )
    page.get_by_role("button", name="Start session now").click()
    expect(toasts(page).last).to_have_text(re.compile("Started Lee Form's session."))
    with site.teacher_api(teacher) as api:
        session = api.get("/api/sessions").json()["items"][0]
    assert (session["student_name"], session["student_may_restart"]) == ("Lee Form", True)
    assert session["status"] == "active"
