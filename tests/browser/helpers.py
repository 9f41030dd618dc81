"""Steps shared by the browser tests: open a student or a teacher page, talk, wait."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.browser.conftest import Site, Teacher

NewContext = Callable[..., BrowserContext]
# A scripted reply is at most a few dozen words at 12 words/s (4 on the policy site).
REPLY_TIMEOUT_MS = 15_000


def open_student(
    new_context: NewContext,
    session: dict[str, Any],
    *,
    phone: bool = False,
    on: Site | None = None,
    status: str = "Active",
) -> Page:
    page = new_context(phone=phone, on=on).new_page()
    page.goto(session["join_url"])
    expect(page.locator("#status-badge")).to_have_text(status)
    expect(page.locator("#connection-banner")).to_be_hidden()
    return page


def open_teacher(
    new_context: NewContext,
    route: str = "",
    *,
    phone: bool = False,
    on: Site | None = None,
    teacher: bool | Teacher = True,
) -> Page:
    page = new_context(teacher=teacher, phone=phone, on=on).new_page()
    page.goto(f"/teacher#{route}")
    return page


def say(student: Page, text: str) -> None:
    student.get_by_label("Your message").fill(text)
    student.get_by_label("Your message").press("Enter")


def client_texts(page: Page) -> list[str]:
    return page.locator(".msg--client .msg__text").all_text_contents()


def wait_for_replies(page: Page, count: int, scope: Locator | None = None) -> None:
    """Wait until ``count`` client replies exist (in ``scope``) and none is streaming."""
    root = scope or page.locator("body")
    expect(root.locator(".msg--client")).to_have_count(count, timeout=REPLY_TIMEOUT_MS)
    expect(root.locator(".msg--streaming")).to_have_count(0, timeout=REPLY_TIMEOUT_MS)


def last_reply(page: Page) -> Locator:
    return page.locator(".msg--client").last


def wait_for_session(
    api: httpx.Client,
    session_id: str,
    done: Callable[[dict[str, Any]], bool],
    timeout: float = 15.0,
) -> dict[str, Any]:
    """Poll the session over HTTP until ``done(session)`` (the watchdog acts on its own
    clock; there is no event to wait on from outside a browser)."""
    deadline = time.monotonic() + timeout
    while True:
        session: dict[str, Any] = api.get(f"/api/sessions/{session_id}").json()
        if done(session) or time.monotonic() > deadline:
            return session
        time.sleep(0.1)  # polling a probe, not papering over a race


def wait_for_usage(api: httpx.Client, at_least: int, timeout: float = 10.0) -> int:
    """Poll ``/api/usage`` until this month's tokens reach ``at_least`` (a reply's usage row
    is written just after its ``reply.done``)."""
    deadline = time.monotonic() + timeout
    while True:
        used = int(api.get("/api/usage").json()["month"]["tokens_used"])
        if used >= at_least or time.monotonic() > deadline:
            return used
        time.sleep(0.1)  # polling a probe, not papering over a race
