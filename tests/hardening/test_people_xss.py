"""People: cross-site scripting (issue 16), in Debian's Chromium against a real server whose
client speaks through an OpenAI-compatible fake (tests/llm/fake_openai.py) that answers with
script payloads. The same corpus goes in as the student's words (typed into the student
page), as the model's output, as every text field of a profile (hidden facts included), a
rubric and a session, as a teacher's whisper, and as a case file's name. Every student and
teacher page that shows them is opened: no payload runs (each would call ``__xss`` or open
a dialog), and each page shows a payload as text (so the test saw it rendered)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, _require_chromium, _serve
from tests.llm.fake_openai import FakeOpenAI
from tests.llm.llm_fake_http import Reply, serving

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PAYLOADS = (
    "<img src=x onerror=\"window.__xss('img')\">",
    "<script>window.__xss('script')</script>",
    "<svg onload=\"window.__xss('svg')\"></svg>",
    '"><iframe srcdoc="<script>parent.__xss(\'srcdoc\')</script>"></iframe>',
    "<a href=\"javascript:window.__xss('href')\">click me</a>",
    "<details open ontoggle=\"window.__xss('toggle')\">x</details>",
    "</textarea><script>window.__xss('textarea')</script>",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss('mxss')>",
    "<img src=x onerror=alert('dialog')>",
    "'-alert('quote')-'",
    "[md](javascript:window.__xss('markdown'))",
    "{{constructor.constructor('window.__xss(\"template\")')()}}",
)
#: Every payload at once, for fields that take free text.
ALL = " ".join(PAYLOADS)
#: What a page must show as text to prove it rendered the hostile data.
MARK = "onerror="
HOOK = "window.__xss = (where) => { (window.__xssHits ||= []).push(where); };"


@contextmanager
def fake_in_thread(app: FakeOpenAI) -> Iterator[str]:
    """Serve ``app`` on its own event loop in a thread (Playwright's sync API owns ours)."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        box["stop"] = asyncio.Event()
        async with serving(app) as url:
            box["url"] = url
            started.set()
            await box["stop"].wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(10), "the fake provider did not start"
    try:
        yield str(box["url"])
    finally:
        loop.call_soon_threadsafe(box["stop"].set)
        thread.join(10)
        loop.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    _require_chromium()
    fake = FakeOpenAI(script=[Reply(chunks=tuple(p + " " for p in PAYLOADS), input_tokens=40)])
    with fake_in_thread(fake) as url:
        overrides = {
            "LLM_PROVIDER": "openai",
            "OPENAI_BASE_URL": url + "/v1",
            "OPENAI_API_KEY": "sk-test-not-real",
            "LLM_MODEL": "gpt-test",
        }
        with _serve(tmp_path_factory.mktemp("xss-site"), overrides) as served:
            yield served


@pytest.fixture(scope="module")
def browser(site: Any) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _hostile_world(site: Any) -> dict[str, str]:
    """A profile, rubric and session of the demo teacher full of payloads; a case file
    named by one (when the file routes exist)."""
    with site.teacher_api() as api:
        profile = api.post(
            "/api/profiles",
            json={
                "name": "Pat " + PAYLOADS[0],
                "pronouns": PAYLOADS[1][:40],
                "background": ALL,
                "presenting_problem": ALL,
                "personality": ALL,
                "communication_style": ALL,
                "goals": ALL,
                "opening_line": ALL,
                "hidden_facts": [
                    {"fact": ALL, "disclosure": ALL, "topics": ["x<b>y</b>"], "trust_needed": 0}
                ],
            },
        )
        assert profile.status_code == 201, profile.text
        rubric = api.post(
            "/api/rubrics",
            json={
                "name": "Rubric " + PAYLOADS[0] + PAYLOADS[2],
                "description": ALL,
                "criteria": [
                    {
                        "name": "Crit " + PAYLOADS[4],
                        "description": ALL,
                        "levels": [
                            {"score": 1, "descriptor": ALL},
                            {"score": 2, "descriptor": PAYLOADS[5]},
                        ],
                    }
                ],
            },
        )
        assert rubric.status_code == 201, rubric.text
        session = api.post(
            "/api/sessions",
            json={
                "profile_id": profile.json()["id"],
                "rubric_id": rubric.json()["id"],
                "student_name": "Sam " + PAYLOADS[0],
                "instructions": ALL,
                "time_limit_seconds": 1800,
                "token_budget": 50_000,
            },
        )
        assert session.status_code == 201, session.text
        sid = session.json()["id"]
        assert api.post(f"/api/sessions/{sid}/start").is_success
        files = api.post(
            f"/api/profiles/{profile.json()['id']}/files",
            files={"file": (PAYLOADS[0] + ".txt", b"case notes\n", "text/plain")},
            data={"visible_to_students": "true"},
        )
        assert files.status_code in (201, 404), files.text
    return {
        "session": sid,
        "profile": profile.json()["id"],
        "rubric": rubric.json()["id"],
        "join_url": session.json()["join_url"],
        "files": "yes" if files.status_code == 201 else "no",
    }


def _until_a_field_holds(page: Any, text: str, name: str) -> None:
    """Poll the form's fields (values are not page text) for ``text``, 15 s at most."""
    for _ in range(150):
        if page.evaluate(
            "(m) => [...document.querySelectorAll('input,textarea,option')]"
            '.some(e => (e.value + " " + e.textContent).includes(m))',
            text,
        ):
            return
        page.wait_for_timeout(100)  # polling a condition the page is still rendering
    raise AssertionError(f"{name}: no field shows the payload")


def test_no_payload_runs_on_any_page(site: Any, browser: Any) -> None:
    world = _hostile_world(site)
    dialogs: list[str] = []
    seen: dict[str, int] = {}

    def context(teacher: bool) -> Any:
        made = browser.new_context(base_url=site.base_url)
        made.set_default_timeout(15_000)
        made.add_init_script(HOOK)
        if teacher:
            login = made.request.post(
                "/api/auth/login",
                data={"email": "teacher@example.org", "password": "demo-teacher-password"},
            )
            assert login.ok
        return made

    def watch(page: Any) -> Any:
        def on_dialog(dialog: Any) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        return page

    def check(page: Any, name: str, ready: Callable[[Any], None] | None = None) -> None:
        if ready is not None:
            ready(page)
        # Locators, not wait_for_function: the pages' CSP forbids eval, and must stay on.
        try:
            page.get_by_text(MARK, exact=False).first.wait_for()
        except Exception as error:
            raise AssertionError(f"{name}: no payload shown as text") from error
        hits = page.evaluate("window.__xssHits || []")
        assert hits == [], (name, hits)
        assert dialogs == [], (name, dialogs)
        seen[name] = page.evaluate("(m) => document.body.innerText.split(m).length - 1", MARK)

    student_ctx, teacher_ctx = context(False), context(True)
    try:
        # The student joins, types a payload and gets the model's payloads back.
        student = watch(student_ctx.new_page())
        student.goto(world["join_url"])
        # The control: the hook records a call (so a silent page means nothing ran).
        assert student.evaluate("window.__xss('control'); window.__xssHits.splice(0)") == [
            "control"
        ]
        box = student.locator("#composer-text")
        box.fill(ALL[:3900])
        student.locator("#send").click()
        # The student's turn and the model's reply (every chunk a payload).
        student.locator("#transcript li").nth(1).wait_for(timeout=30_000)
        student.wait_for_selector("#send:not([disabled])")
        check(student, "student chat")

        # A whisper from the observe page, then every teacher page.
        teacher = watch(teacher_ctx.new_page())
        teacher.goto(f"/teacher#/observe/{world['session']}")
        hint = teacher.get_by_role("textbox", name="Whisper a hint")
        hint.fill(ALL[:3900])
        hint.press("Enter")
        check(teacher, "observe")
        for name, route in (
            ("observe grid", f"/observe?id={world['session']}"),
            ("sessions", "/sessions"),
            ("session review", f"/sessions/{world['session']}"),
            ("new session form", "/sessions/new"),
            ("profiles", "/profiles"),
            ("profile form", f"/profiles/{world['profile']}"),
            ("rubrics", "/rubrics"),
            ("rubric form", f"/rubrics/{world['rubric']}"),
            ("progress", "/progress"),
        ):
            teacher.goto(f"/teacher#{route}")
            teacher.wait_for_load_state("networkidle")
            if name in ("progress",):
                # Progress shows scores, not texts: nothing hostile to render, only to run.
                assert teacher.evaluate("window.__xssHits || []") == [], name
                assert dialogs == [], name
                continue
            if name in ("profile form", "rubric form", "new session form"):
                # Form fields hold the payloads as values, not as page text.
                _until_a_field_holds(teacher, MARK, name)
                assert teacher.evaluate("window.__xssHits || []") == [], name
                assert dialogs == [], name
                seen[name] = 1
                continue
            check(teacher, name)
        # The student page again, from history (a reload renders the stored transcript).
        student.reload()
        check(student, "student chat after reload")
    finally:
        student_ctx.close()
        teacher_ctx.close()
    print(
        f"HARDENING xss: {len(PAYLOADS)} payloads as student input, model output, profile, "
        f"rubric, session and whisper text"
        + (", and a case file's name" if world["files"] == "yes" else "")
        + f"; {len(seen) + 1} pages rendered them as text; 0 ran, 0 dialogs"
    )
