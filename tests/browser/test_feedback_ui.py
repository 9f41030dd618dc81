"""Feedback after a session: the teacher's review page shows the automatic evaluation once
it is done, the teacher overrides a score with a comment and releases it, and the student's
end screen shows nothing before the release and the feedback after; evidence quotes jump
to their message; the Progress page shows agreement and the student's charts. A failed LLM
grading keeps the automatic scores and is retried from the page."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import PHONE, Site, _serve, screenshot
from tests.browser.helpers import NewContext, open_student, open_teacher, say, wait_for_replies
from tests.browser.test_client_state_ui import fake_llm
from tests.llm.fake_openai import FakeOpenAI
from tests.llm.llm_fake_http import HttpError, Reply

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TURNS = [
    "Hello Sam, I'm Alex. What would you like to talk about today?",
    "Do you sleep well?",
    "It sounds like work has been weighing on you, and the nights are hard too.",
]
COMMENT = "You reflected well <b>here</b>; try one more reflection before the next question."
NOT_RELEASED = re.compile("has not released feedback on this interview yet")
# The scripted grader takes well under a second; a job waits for the idle poll (1 s) at most.
EVALUATION_TIMEOUT_MS = 30_000


def other_score(criterion: dict[str, Any], levels: list[int]) -> int:
    """A level other than the automatic score."""
    return next(score for score in sorted(levels, reverse=True) if score != criterion["score"])


def rubric_levels(api: httpx.Client, session: dict[str, Any], name: str) -> list[int]:
    rubric = api.get(f"/api/rubrics/{session['rubric_id']}").json()
    criterion = next(c for c in rubric["criteria"] if c["name"] == name)
    return [level["score"] for level in criterion["levels"]]


def criterion_card(review: Page, name: str) -> Locator:
    return review.locator(f".feedback .criterion-result[data-criterion='{name}']")


def test_teacher_reviews_and_releases_the_feedback(new_context: NewContext, site: Site) -> None:
    session = site.new_session(student_name="Alex Feedback")
    student = open_student(new_context, session)
    for count, turn in enumerate(TURNS, start=1):
        say(student, turn)
        wait_for_replies(student, count)

    # The teacher ends the session from the review page; the card waits, then shows it.
    review = open_teacher(new_context, f"/sessions/{session['id']}")
    expect(review.locator(".transcript--review .msg")).to_have_count(2 * len(TURNS))
    card = review.locator("section.feedback")
    expect(card).to_contain_text("prepared automatically when the session ends")
    review.get_by_role("button", name="End", exact=True).click()
    review.get_by_role("dialog").get_by_role("button", name="End session").click()
    expect(card).to_have_attribute("data-state", "done", timeout=EVALUATION_TIMEOUT_MS)
    expect(card.locator(".feedback__unreleased")).to_have_text(re.compile("Not released"))

    with site.teacher_api() as api:
        evaluation = api.get(f"/api/sessions/{session['id']}/evaluation").json()
        assert evaluation["status"] == "done", evaluation
        rapport = next(c for c in evaluation["criteria"] if c["name"] == "Rapport")
        new_score = other_score(rapport, rubric_levels(api, session, "Rapport"))

    # Every criterion shows its automatic and final score, rationale and evidence.
    names = [c["name"] for c in evaluation["criteria"]]
    expect(card.locator(".criterion-result__name")).to_have_text(names)
    for criterion in evaluation["criteria"]:
        box = criterion_card(review, criterion["name"])
        expect(box.locator(".score--automatic")).to_have_text(
            re.compile(rf"^{criterion['automatic_score']} of \d")
        )
        expect(box.locator(".score-change")).to_have_text("kept")
        expect(box.locator(".criterion-result__why")).to_have_text(criterion["rationale"])
    metrics = card.locator("table.metrics")
    expect(metrics.locator("tr[data-metric=open_question_share] th")).to_have_text(
        "Open questions (share of all questions)"
    )
    open_share = evaluation["metrics"]["open_question_share"]
    expect(metrics.locator("tr[data-metric=open_question_share] td")).to_have_text(
        [re.compile(r"%$"), "50 %", "70 %", re.compile(r"^(Good|Fair|Below fair)$")]
    )
    assert open_share["threshold"] == {"fair": 0.5, "good": 0.7}, open_share
    expect(card.locator(".coverage__item")).to_have_count(len(evaluation["coverage"]))
    for state in card.locator(".coverage__state").all_text_contents():
        assert re.fullmatch(r"Disclosed at turn \d+|Not disclosed", state), state
    alternatives = card.locator(".alternative")
    expect(alternatives).to_have_count(len(evaluation["alternatives"]))
    if evaluation["alternatives"]:
        expect(alternatives.first.locator(".alternative__said")).to_contain_text("The student said")

    # An evidence quote jumps to its message: scrolled into view, highlighted, focused.
    quote = card.locator(".quote--link").first
    seq = quote.get_attribute("data-seq")
    quote.click()
    target = review.locator(".transcript--review .msg.msg--target")
    expect(target).to_have_count(1)
    expect(target).to_be_focused()
    expect(target).to_be_in_viewport()
    quoted = next(e for c in evaluation["criteria"] for e in c["evidence"] if str(e["seq"]) == seq)
    expect(target.locator(".msg__text")).to_contain_text(quoted["quote"][:40])
    screenshot(review, "teacher-feedback-evidence-jump")

    # Before the release the student's end screen says the feedback is not out yet.
    expect(student.locator("#end-screen")).to_be_visible()
    expect(student.locator("#end-feedback")).to_have_attribute("data-state", "not-released")
    expect(student.locator("#end-feedback-note")).to_have_text(NOT_RELEASED)
    answer = student.request.get(f"/api/student/sessions/{session['id']}/evaluation")
    assert answer.status == 403 and answer.json()["error"]["code"] == "not_released"

    # The teacher overrides Rapport with a comment; automatic and final both show, also
    # after a reload.
    rapport_box = criterion_card(review, "Rapport")
    rapport_box.get_by_label("Your score for Rapport").select_option(str(new_score))
    rapport_box.get_by_label("Comment for the student on Rapport").fill(COMMENT)
    expect(card.locator(".feedback-form__state")).to_have_text("Unsaved changes.")
    card.get_by_role("button", name="Save scores and comments").click()
    expect(rapport_box.locator(".score-change")).to_have_text("changed by you")
    # The redrawn card keeps the keyboard where it was.
    expect(card.get_by_role("button", name="Save scores and comments")).to_be_focused()
    review.reload()
    rapport_box = criterion_card(review, "Rapport")
    expect(rapport_box.locator(".score--automatic")).to_have_text(
        re.compile(rf"^{rapport['automatic_score']} of \d")
    )
    expect(rapport_box.locator(".score--final")).to_have_text(re.compile(rf"^{new_score} of \d"))
    expect(rapport_box.locator(".score-change")).to_have_text("changed by you")
    expect(rapport_box.get_by_label("Comment for the student on Rapport")).to_have_value(COMMENT)
    screenshot(review, "teacher-feedback-review")

    # Release, after a confirmation.
    review.get_by_role("button", name="Release to the student").click()
    dialog = review.get_by_role("dialog")
    expect(dialog).to_contain_text("Release the feedback to Alex Feedback?")
    dialog.get_by_role("button", name="Release").click()
    expect(card.locator(".feedback__released")).to_have_text(re.compile("^Released to the student"))
    expect(review.get_by_role("button", name="Release to the student")).to_have_count(0)
    expect(card.get_by_role("heading", name="Feedback")).to_be_focused()

    # The student's page (their cookie; the join link no longer opens an ended session).
    student.get_by_role("button", name="Check again").click()
    feedback = student.locator("#end-feedback")
    expect(feedback).to_have_attribute("data-state", "released")
    rapport_view = feedback.locator(".criterion-result[data-criterion='Rapport']")
    expect(rapport_view.locator(".score--final")).to_have_text(re.compile(rf"^{new_score}\b"))
    expect(rapport_view.locator(".criterion-result__comment")).to_have_text(
        f"Your teacher's comment: {COMMENT}"  # text, never markup
    )
    expect(feedback.locator("table.metrics tr[data-metric=open_question_share]")).to_be_visible()
    expect(feedback.locator(".coverage__item")).to_have_count(len(evaluation["coverage"]))
    expect(feedback.locator(".alternative")).to_have_count(len(evaluation["alternatives"]))
    expect(feedback.locator(".score--automatic")).to_have_count(0)
    student_quote = feedback.locator(".quote--link").first
    student_quote.click()
    jumped = student.locator("#end-transcript .msg.msg--target")
    expect(jumped).to_be_focused()
    expect(jumped).to_be_in_viewport()
    student_quote.scroll_into_view_if_needed()
    screenshot(student, "student-feedback")
    student.set_viewport_size(PHONE)
    screenshot(student, "student-feedback-phone")  # asserts no sideways scrolling
    student.reload()
    expect(student.locator("#end-feedback")).to_have_attribute("data-state", "released")

    # Progress: the override counts in the agreement, the student has charts.
    review.goto("/teacher#/progress")
    row = review.locator("table.agreement tr[data-criterion='Rapport']")
    expect(row.locator("td").first).to_have_text(re.compile(r"^[1-9]\d*$"))
    charts = review.locator(".progress-student", has_text="Alex Feedback").locator(
        "svg.line-chart__svg"
    )
    expect(charts.first).to_have_attribute("aria-label", re.compile(r"^% open questions over"))
    expect(charts.first.locator(".line-chart__threshold")).to_have_count(2)
    screenshot(review, "teacher-progress")


@pytest.fixture(scope="module")
def grader() -> Iterator[FakeOpenAI]:
    """An OpenAI-compatible grader whose first answer is a 500; tests append the rest."""
    fake = FakeOpenAI(script=[HttpError(500, "server_error", "the grader is down")])
    with fake_llm(fake) as url:
        fake.url = url
        yield fake


@pytest.fixture(scope="module")
def grading_site(tmp_path_factory: pytest.TempPathFactory, grader: FakeOpenAI) -> Iterator[Site]:
    """The scripted client, graded by the fake LLM grader (no retries of a failed call)."""
    env = {
        "GRADER_PROVIDER": "openai",
        "GRADER_MODEL": "grader-test",
        "OPENAI_API_KEY": "test",
        "OPENAI_BASE_URL": grader.url + "/v1",
        "LLM_MAX_RETRIES": "0",
    }
    with _serve(tmp_path_factory.mktemp("browser-grading-site"), env) as served:
        yield served


def grader_answer(seq: int, quote: str) -> str:
    """A valid grader answer for the demo rubric, quoting the student's turn ``seq``."""
    evidence = [{"seq": seq, "quote": quote}]
    return json.dumps(
        {
            "criteria": [
                {
                    "name": "Rapport",
                    "score": 2,
                    "rationale": "A warm opening.",
                    "evidence": evidence,
                },
                {
                    "name": "Exploration",
                    "score": 1,
                    "rationale": "One question.",
                    "evidence": evidence,
                },
            ],
            "alternatives": [{"seq": seq, "text": "What brings you here?", "why": "Open."}],
        }
    )


def test_a_failed_grading_is_retried(
    new_context: NewContext, grading_site: Site, grader: FakeOpenAI
) -> None:
    session = grading_site.new_session(student_name="Retry Student")
    student = open_student(new_context, session, on=grading_site)
    say(student, TURNS[1])
    wait_for_replies(student, 1)
    with grading_site.teacher_api() as api:
        api.post(f"/api/sessions/{session['id']}/end").raise_for_status()
    review = open_teacher(new_context, f"/sessions/{session['id']}", on=grading_site)
    card = review.locator("section.feedback")
    expect(card).to_have_attribute("data-state", "failed", timeout=EVALUATION_TIMEOUT_MS)
    expect(card.locator(".feedback__failed")).to_have_text(
        re.compile(r"^The evaluation failed \(.+\)\. The automatic scores and metrics below")
    )
    expect(card.locator(".criterion-result")).to_have_count(2)  # the automatic result stays
    expect(review.get_by_role("button", name="Release to the student")).to_have_count(0)
    screenshot(review, "teacher-feedback-failed")

    with grading_site.teacher_api() as api:
        items = api.get(f"/api/sessions/{session['id']}/transcript").json()["items"]
    turn = next(item for item in items if item["role"] == "student")
    grader.script.append(Reply(chunks=(grader_answer(turn["seq"], turn["text"]),)))
    review.get_by_role("button", name="Retry").click()
    expect(card.get_by_role("heading", name="Feedback")).to_be_focused()
    expect(card).to_have_attribute("data-state", "done", timeout=EVALUATION_TIMEOUT_MS)
    expect(card).to_contain_text("Scores proposed by an AI grader.")
    rapport = criterion_card(review, "Rapport")
    expect(rapport.locator(".criterion-result__why")).to_have_text("A warm opening.")
    expect(rapport.locator(".score--automatic")).to_have_text(re.compile(r"^2 of 3"))
    expect(card.locator(".alternative__better")).to_have_text(
        "A better reply: What brings you here?"
    )
