"""Browser tests: Debian's Chromium driven by Playwright against a real ``vclient serve``.

One server (SQLite, in-process realtime, scripted LLM) serves most of the browser suite;
``policy_site`` is a second one with other limits, a monthly token cap and slow replies.
Each test makes the objects it needs over the HTTP API. Chromium is never downloaded:
without ``/usr/bin/chromium`` the tests skip, or fail when ``CI=true``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.demo import DEMO_PROFILE, DEMO_RUBRIC
from tests.support.servers import ROOT, ServerProcess, run_cli, run_cli_steps, running_server

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every test here drives a browser against a real server: `browser` and `slow`, so
    # `make test` runs it in its process phase even if its module forgets to say so. The hook
    # sees the whole session's items: mark only ours.
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)


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
DESKTOP: ViewportSize = {"width": 1280, "height": 860}
PHONE: ViewportSize = {"width": 390, "height": 844}
TEACHER_EMAIL = "teacher@example.org"
TEACHER_PASSWORD = "demo-teacher-password"
# 12 words/s: a 20-word reply streams for ~1.7 s, long enough to cut the network mid-reply.
TOKENS_PER_SECOND = "12"
# Lets the expiry test create a session that runs out in seconds, not minutes.
SESSION_MIN_SECONDS = "3"
# A scripted reply costs ~660 tokens (the persona prompt): an 800-token session crosses
# the 80 % warning with its first reply.
TOKEN_BUDGET_MIN = "500"
# The second server: limits a teacher would notice in the form (10-45 min, 2,000-50,000
# tokens), a monthly cap one reply passes (0 < 500) and the next meets, and 4 words/s so
# a reply streams for 1.5-3 s: time to stop it or to try sending meanwhile.
POLICY_ENV = {
    "SESSION_MIN_SECONDS": "600",
    "SESSION_MAX_SECONDS": "2700",
    "TOKEN_BUDGET_MIN": "2000",
    "TOKEN_BUDGET_MAX": "50000",
    "TEACHER_MONTHLY_TOKEN_CAP": "500",
    "SCRIPTED_TOKENS_PER_SECOND": "4",
}

IN_CI = os.environ.get("CI", "").lower() == "true"

try:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        ConsoleMessage,
        Page,
        Playwright,
        ViewportSize,
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


@dataclass(frozen=True)
class Teacher:
    email: str
    password: str


DEMO_TEACHER = Teacher(TEACHER_EMAIL, TEACHER_PASSWORD)


@dataclass
class Site:
    server: ServerProcess
    demo_join_url: str
    env: Mapping[str, str]
    work: Path

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @contextmanager
    def teacher_api(self, teacher: Teacher = DEMO_TEACHER) -> Iterator[httpx.Client]:
        """An HTTP client logged in as ``teacher`` (the demo teacher by default)."""
        with httpx.Client(base_url=self.base_url, timeout=10) as client:
            answer = client.post(
                "/api/auth/login", json={"email": teacher.email, "password": teacher.password}
            )
            answer.raise_for_status()
            yield client

    def new_teacher(self, email: str) -> Teacher:
        """A teacher of their own (monthly caps are per teacher) with the demo profile and
        rubric."""
        teacher = Teacher(email, "browser-test-password")
        run_cli(
            [
                "create-user",
                "--role",
                "teacher",
                "--email",
                email,
                "--name",
                email,
                "--password",
                teacher.password,
            ],
            self.env,
            self.work,
        )
        with self.teacher_api(teacher) as api:
            api.post("/api/profiles", json=DEMO_PROFILE).raise_for_status()
            api.post("/api/rubrics", json=DEMO_RUBRIC).raise_for_status()
        return teacher

    def new_session(
        self,
        *,
        seconds: int = 1800,
        tokens: int = 20_000,
        start: bool = True,
        student_name: str = "Robin Park",
        teacher: Teacher = DEMO_TEACHER,
    ) -> dict[str, Any]:
        """A session for the teacher's profile and rubric (started unless ``start=False``)."""
        with self.teacher_api(teacher) as api:
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


@contextmanager
def _serve(work: Path, overrides: Mapping[str, str]) -> Iterator[Site]:
    env = {
        "DATABASE_URL": f"sqlite:///{work / 'vclient.db'}",
        "REDIS_URL": "",
        "SECRET_KEY": "browser-tests-secret-key-0123456789",
        "DATA_DIR": str(work / "var"),
        "LLM_PROVIDER": "scripted",
        "SCRIPTED_TOKENS_PER_SECOND": TOKENS_PER_SECOND,
        "SESSION_MIN_SECONDS": SESSION_MIN_SECONDS,
        "TOKEN_BUDGET_MIN": TOKEN_BUDGET_MIN,
        **overrides,
    }
    seeded = run_cli_steps([["db", "upgrade"], ["demo"]], env, work).stdout
    join_path = "/join/" + seeded.split("/join/", 1)[1].split()[0]
    with running_server(env, work) as server:
        yield Site(server, server.base_url + join_path, env, work)


@pytest.fixture(scope="package")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    _require_chromium()
    with _serve(tmp_path_factory.mktemp("browser-site"), {}) as served:
        yield served


@pytest.fixture(scope="package")
def policy_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A second server with other limits, a monthly cap and slow replies (POLICY_ENV)."""
    _require_chromium()
    with _serve(tmp_path_factory.mktemp("browser-policy-site"), POLICY_ENV) as served:
        yield served


# Package scope, not session: Playwright's sync API runs an event loop in the main
# thread while it lives, which would break every pytest-asyncio test collected after us.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    _require_chromium()
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


class PageProblems:
    """Console errors that mean a broken page: CSP violations and uncaught exceptions."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def watch(self, page: Page) -> None:
        page.on("pageerror", lambda error: self.items.append(f"uncaught: {error}"))
        page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and re.search(
            r"Content Security Policy|SyntaxError|TypeError|"
            r"ReferenceError",
            message.text,
        ):
            self.items.append(message.text)


@pytest.fixture
def problems() -> Iterator[PageProblems]:
    found = PageProblems()
    yield found
    assert not found.items, f"page problems: {found.items}"


@pytest.fixture
def new_context(browser: Browser, site: Site, problems: PageProblems) -> Iterator[Any]:
    """Factory for isolated browser contexts (one per person); all closed afterwards."""
    contexts: list[BrowserContext] = []

    def make(
        *, phone: bool = False, teacher: bool | Teacher = False, on: Site | None = None
    ) -> BrowserContext:
        """``teacher=True`` logs in the demo teacher, a ``Teacher`` logs in that one;
        ``on`` picks another server than ``site``."""
        context = browser.new_context(
            base_url=(on or site).base_url,
            viewport=PHONE if phone else DESKTOP,
            accept_downloads=True,
        )
        context.set_default_timeout(10_000)
        context.on("page", problems.watch)
        if teacher:
            who = teacher if isinstance(teacher, Teacher) else DEMO_TEACHER
            answer = context.request.post(
                "/api/auth/login", data={"email": who.email, "password": who.password}
            )
            assert answer.ok, answer.text()
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def screenshot(page: Page, name: str) -> None:
    """Save a full-page screenshot; a phone-sized page must not scroll sideways."""
    viewport = page.viewport_size
    if viewport and viewport["width"] == PHONE["width"]:
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= PHONE["width"], f"{name}: the page is {wide}px wide on a phone"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
