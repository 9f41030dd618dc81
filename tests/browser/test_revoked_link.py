"""A student whose join link the teacher replaces is told so at once (close code 4003) and
the page stops: no reconnecting, no sending."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Site, screenshot
from tests.browser.helpers import NewContext, open_student

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_replaced_link_disconnects_the_student_page_for_good(
    new_context: NewContext, site: Site
) -> None:
    session = site.new_session(student_name="Revoked Student")
    student = open_student(new_context, session)
    sockets: list[str] = []
    student.on("websocket", lambda ws: sockets.append(ws.url))
    with site.teacher_api() as api:
        api.post(f"/api/sessions/{session['id']}/join-link").raise_for_status()
    banner = student.locator("#connection-banner")
    expect(banner).to_be_visible(timeout=2_000)
    expect(banner).to_contain_text("Your teacher replaced the link")
    expect(student.get_by_role("button", name="Send")).to_be_disabled()
    expect(student.locator("#composer-text")).to_be_disabled()
    screenshot(student, "student-link-revoked")
    # Still no reconnect attempt after the first backoff (0.5-0.65 s) would have fired.
    student.wait_for_timeout(1_500)
    assert sockets == []
    expect(banner).to_contain_text("Your teacher replaced the link")
