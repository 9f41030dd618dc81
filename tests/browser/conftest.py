"""Browser tests: Debian's Chromium driven by Playwright against a real ``vclient serve``.

One server (SQLite, in-process realtime, scripted LLM) serves the whole browser suite;
each test makes the objects it needs over the HTTP API. Chromium is never downloaded:
without ``/usr/bin/chromium`` the tests skip, or fail when ``CI=true``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.servers import ROOT, ServerProcess, run_cli, running_server

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
TEACHER_EMAIL = "teacher@example.org"
TEACHER_PASSWORD = "demo-teacher-password"
# 12 words/s: a 20-word reply streams for ~1.7 s, long enough to cut the network mid-reply.
TOKENS_PER_SECOND = "12"
# Lets the expiry test create a session that runs out in seconds, not minutes.
SESSION_MIN_SECONDS = "3"

IN_CI = os.environ.get("CI", "").lower() == "true"

try:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        ConsoleMessage,
        Page,
        Playwright,
        sync_playwright,
    )
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None  # type: ignore[assignment]


def _require_chromium() -> None:
    problem = None
    if sync_playwright is None:
        problem = "the playwright package is not installed (pip install -e '.[test]')"
    elif not CHROMIUM.exists():
        problem = f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    if problem is None:
        return
    if IN_CI:
        pytest.fail(problem + " (CI=true: browser tests must run)", pytrace=False)
    pytest.skip(problem)


@dataclass
class Site:
    server: ServerProcess
    demo_join_url: str

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @contextmanager
    def teacher_api(self) -> Iterator[httpx.Client]:
        """An HTTP client logged in as the demo teacher."""
        with httpx.Client(base_url=self.base_url, timeout=10) as client:
            answer = client.post(
                "/api/auth/login", json={"email": TEACHER_EMAIL, "password": TEACHER_PASSWORD}
            )
            answer.raise_for_status()
            yield client

    def new_session(self, *, seconds: int = 1800, tokens: int = 20_000, start: bool = True,
                    student_name: str = "Robin Park") -> dict[str, Any]:
        """A session for the demo profile and rubric (started unless ``start=False``)."""
        with self.teacher_api() as api:
            profile = api.get("/api/profiles").json()["items"][0]
            rubric = api.get("/api/rubrics").json()["items"][0]
            created = api.post(
                "/api/sessions",
                json={
                    "profile_id": profile["id"],
                    "rubric_id": rubric["id"],
                    "student_name": student_name,
                    "time_limit_seconds": seconds,
                    "token_budget": tokens,
                },
            )
            created.raise_for_status()
            session: dict[str, Any] = created.json()
            if start:
                api.post(f"/api/sessions/{session['id']}/start").raise_for_status()
        return session


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    _require_chromium()
    work = tmp_path_factory.mktemp("browser-site")
    env = {
        "DATABASE_URL": f"sqlite:///{work / 'vclient.db'}",
        "REDIS_URL": "",
        "SECRET_KEY": "browser-tests-secret-key-0123456789",
        "DATA_DIR": str(work / "var"),
        "LLM_PROVIDER": "scripted",
        "SCRIPTED_TOKENS_PER_SECOND": TOKENS_PER_SECOND,
        "SESSION_MIN_SECONDS": SESSION_MIN_SECONDS,
    }
    run_cli(["db", "upgrade"], env, work)
    seeded = run_cli(["demo"], env, work).stdout
    join_path = "/join/" + seeded.split("/join/", 1)[1].split()[0]
    with running_server(env, work) as server:
        yield Site(server, server.base_url + join_path)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    _require_chromium()
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


class PageProblems:
    """Console errors that mean a broken page: CSP violations and uncaught exceptions."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def watch(self, page: Page) -> Page:
        page.on("pageerror", lambda error: self.items.append(f"uncaught: {error}"))
        page.on("console", self._console)
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and re.search(r"Content Security Policy|SyntaxError|TypeError|"
                                                 r"ReferenceError", message.text):
            self.items.append(message.text)


@pytest.fixture
def problems() -> Iterator[PageProblems]:
    found = PageProblems()
    yield found
    assert not found.items, f"page problems: {found.items}"


@pytest.fixture
def new_context(browser: Browser, site: Site,
                problems: PageProblems) -> Iterator[Any]:
    """Factory for isolated browser contexts (one per person); all closed afterwards."""
    contexts: list[BrowserContext] = []

    def make(*, phone: bool = False, teacher: bool = False) -> BrowserContext:
        context = browser.new_context(
            base_url=site.base_url, viewport=PHONE if phone else DESKTOP
        )
        context.set_default_timeout(10_000)
        context.on("page", problems.watch)
        if teacher:
            answer = context.request.post(
                "/api/auth/login", data={"email": TEACHER_EMAIL, "password": TEACHER_PASSWORD}
            )
            assert answer.ok, answer.text()
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
