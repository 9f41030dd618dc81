"""The teacher and student pages in Debian's Firefox ESR, driven over WebDriver BiDi.

Playwright's Firefox is a patched build we cannot download, so these tests speak BiDi to a
stock ``firefox-esr`` (``tests/support/bidi.py``). Without it they skip, or fail when
``CI=true``. Each test has a browser of its own; CSP violations and uncaught errors
(``log.entryAdded`` at level ``error``) fail it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urljoin

import pytest

from tests.browser.conftest import (
    IN_CI,
    SCREENSHOTS,
    TEACHER_EMAIL,
    TEACHER_PASSWORD,
    Site,
    _serve,
)
from tests.support.bidi import FIREFOX, BiDiSession, Tab, open_firefox

pytestmark = [pytest.mark.browser, pytest.mark.slow]

T = TypeVar("T")
# A scripted reply is a few dozen words at 12 words/s.
REPLY_TIMEOUT_SECONDS = 15.0


def _require_firefox() -> None:
    if FIREFOX.exists():
        return
    problem = f"Firefox ESR is not installed at {FIREFOX} (apt-get install -y firefox-esr)"
    if IN_CI:
        pytest.fail(problem + " (CI=true: browser tests must run)", pytrace=False)
    pytest.skip(problem)


@pytest.fixture(scope="module")
def firefox_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A server like ``site``, started here so that Firefox does not depend on Chromium."""
    _require_firefox()
    with _serve(tmp_path_factory.mktemp("firefox-site"), {}) as served:
        yield served


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on an event loop in a thread of its own: while the Chromium tests'
    Playwright lives (package scope), its sync API keeps a loop running in this thread."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bidi") as pool:
        return pool.submit(asyncio.run, main).result()


def page_problems(firefox: BiDiSession) -> list[str]:
    """Errors the page logged: CSP violations, uncaught exceptions, ``console.error``."""
    return [
        f"{entry.kind}: {entry.text}" for entry in firefox.log_entries() if entry.level == "error"
    ]


def js(value: str) -> str:
    return json.dumps(value)


async def text_of(tab: Tab, selector: str) -> str:
    return str(await tab.evaluate(f"document.querySelector({js(selector)})?.textContent ?? ''"))


def test_teacher_logs_in_and_sees_the_sessions(firefox_site: Site) -> None:
    session = firefox_site.new_session(student_name="Fenna Firefox", start=False)
    problems = run(_teacher_logs_in(firefox_site, session["id"]))
    assert not problems, f"page problems: {problems}"


async def _teacher_logs_in(site: Site, session_id: str) -> list[str]:
    async with open_firefox() as firefox:
        tab = await firefox.new_tab()
        await tab.navigate(site.base_url + "/teacher")
        await tab.wait_for("document.querySelector('form.login input[name=password]')")
        assert await text_of(tab, "h1") == "Teacher login"

        await tab.type_text("form.login input[name=email]", TEACHER_EMAIL)
        await tab.type_text("form.login input[name=password]", TEACHER_PASSWORD)
        await tab.click("form.login button[type=submit]")
        row = f"tbody tr[data-session-id={js(session_id)}]"
        await tab.wait_for(f"document.querySelector({js(row)})")

        assert await text_of(tab, "h1") == "Sessions"
        assert "Fenna Firefox" in await text_of(tab, row)
        assert await tab.evaluate("document.querySelectorAll('tbody tr').length") >= 2
        assert await tab.evaluate("location.hash") == "#/sessions"
        await tab.screenshot(SCREENSHOTS / "firefox-teacher-sessions.png")
        return page_problems(firefox)


def test_student_joins_and_gets_a_streamed_reply(firefox_site: Site) -> None:
    session = firefox_site.new_session(student_name="Sam Student")
    problems = run(_student_chats(firefox_site, session))
    assert not problems, f"page problems: {problems}"


async def _student_chats(site: Site, session: dict[str, Any]) -> list[str]:
    async with open_firefox() as firefox:
        tab = await firefox.new_tab()
        landed = await tab.navigate(urljoin(site.base_url, session["join_url"]))
        assert landed == f"{site.base_url}/s/{session['id']}"
        cookies = {cookie["name"]: cookie for cookie in await tab.cookies()}
        student_cookie = cookies["vc_student_" + session["id"].replace("-", "")]
        assert student_cookie["httpOnly"] is True

        await tab.wait_for(
            "document.querySelector('#status-badge').textContent === 'Active'"
            " && document.querySelector('#connection-banner').hidden"
        )
        await tab.type_text("#composer-text", "How have you been sleeping lately?\ue007")
        await tab.wait_for(
            "document.querySelector('.msg--student .msg__text')?.textContent"
            " === 'How have you been sleeping lately?'"
        )
        # The typing indicator shows while the reply streams (~2 s at 12 words/s), then goes.
        await tab.wait_for("document.querySelector('.msg--client.msg--streaming')")
        await tab.wait_for(
            "document.querySelector('.msg--client .msg__text')?.textContent.trim()"
            " && !document.querySelector('.msg--streaming')",
            timeout=REPLY_TIMEOUT_SECONDS,
        )
        reply = await text_of(tab, ".msg--client .msg__text")
        assert len(reply.split()) >= 3, reply
        assert await tab.evaluate("document.querySelector('#composer-text').value") == ""
        await tab.screenshot(SCREENSHOTS / "firefox-student-chat.png")
        return page_problems(firefox)
