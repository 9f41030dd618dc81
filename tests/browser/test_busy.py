"""A say refused ``busy`` (the worker's reply slots and queue are full) in the browser: the
student is told why in plain words and keeps the text. On a server of its own with one
reply slot, no queue and slow replies."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Site, _require_chromium, _serve, screenshot
from tests.browser.helpers import NewContext, open_student, say

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BUSY_ENV = {
    "MAX_STREAMING_REPLIES": "1",
    "REPLY_QUEUE_SIZE": "0",
    "SCRIPTED_TOKENS_PER_SECOND": "2",  # the first reply streams for ~15 s
}


@pytest.fixture(scope="module")
def busy_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    _require_chromium()
    with _serve(tmp_path_factory.mktemp("browser-busy-site"), BUSY_ENV) as served:
        yield served


def test_a_busy_refusal_says_why_and_keeps_the_text(
    new_context: NewContext, busy_site: Site
) -> None:
    streaming = open_student(
        new_context, busy_site.new_session(student_name="First Student"), on=busy_site
    )
    say(streaming, "Hi Sam, I'm glad you came.")
    expect(streaming.locator(".msg--streaming .msg__text")).to_have_text(re.compile(r"\S"))

    waiting = open_student(
        new_context, busy_site.new_session(student_name="Second Student"), on=busy_site
    )
    say(waiting, "What would you like to talk about?")
    notice = waiting.locator("#composer-notice")
    expect(notice).to_have_attribute("data-code", "busy")
    expect(notice).to_have_text(
        "Not sent. The client is answering many students right now. Send again in a few "
        "seconds. Your text is still in the box."
    )
    expect(waiting.get_by_label("Your message")).to_have_value("What would you like to talk about?")
    expect(waiting.locator(".msg--student")).to_have_count(0)
    expect(waiting.locator("#connection-banner")).to_be_hidden()
    screenshot(waiting, "student-say-refused-busy")
