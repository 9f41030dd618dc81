"""After a session: the teacher's review page (stored transcript, .md/.csv downloads, the
ZIP for a status filter), the student's end screen, and reopening an expired session."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, screenshot
from tests.browser.helpers import (
    REPLY_TIMEOUT_MS,
    NewContext,
    open_student,
    open_teacher,
    say,
    wait_for_replies,
    wait_for_session,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

QUESTION = "Hello Sam, I'm Jo. What brings you in today?"
HINT = "Slow down and reflect what you hear."


def check_saved_conversation(page: Page) -> None:
    saved = page.locator("#end-transcript[data-source=saved]")
    expect(saved.locator(".msg")).to_have_count(3)
    expect(saved.locator(".msg--whisper .msg__text")).to_have_text(HINT)
    expect(saved.locator(".msg--student .msg__text")).to_have_text(QUESTION)
    expect(saved.locator(".msg--client.msg--stopped .msg__note")).to_have_text(
        "Stopped before the end."
    )


def test_review_shows_the_transcript_after_the_session_ends(
    new_context: NewContext, policy_site: Site
) -> None:
    teacher = policy_site.new_teacher("review@example.org")
    session = policy_site.new_session(teacher=teacher, student_name="Jo Review")
    student = open_student(new_context, session, on=policy_site, phone=True)
    observer = open_teacher(
        new_context, f"/observe/{session['id']}", on=policy_site, teacher=teacher
    )
    expect(observer.locator(".tile__presence")).to_contain_text("Student online")

    observer.get_by_role("textbox", name="Whisper a hint").fill(HINT)
    observer.get_by_role("button", name="Whisper").click()
    expect(student.locator(".msg--whisper .msg__text")).to_have_text(HINT)

    # 4 words/s on this site: the reply is still streaming when Stop is pressed.
    say(student, QUESTION)
    expect(student.locator(".msg--streaming .msg__text")).to_have_text(re.compile(r"\S"))
    student.get_by_role("button", name="Stop reply").click()
    wait_for_replies(student, 1)
    expect(student.locator(".msg--client.msg--stopped")).to_have_count(1)

    student.get_by_role("button", name="End session").click()
    student.get_by_role("dialog").get_by_role("button", name="End session").click()
    expect(student.locator("#end-reason")).to_have_text("You ended the session.")
    check_saved_conversation(student)
    screenshot(student, "student-ended-conversation-phone")
    student.goto(f"/s/{session['id']}")  # a finished session opened again
    expect(student.locator("#end-screen")).to_be_visible()
    check_saved_conversation(student)

    review = open_teacher(
        new_context, f"/sessions/{session['id']}", on=policy_site, teacher=teacher
    )
    transcript = review.locator(".transcript--review")
    expect(transcript.locator(".msg")).to_have_count(3)
    expect(transcript.locator(".msg--whisper .msg__name")).to_have_text("Whisper from the teacher")
    expect(transcript.locator(".msg--student .msg__name")).to_have_text("Jo Review (student)")
    stopped = transcript.locator(".msg--client")
    expect(stopped.locator(".msg__name")).to_have_text("Sam Rivera (client)")
    expect(stopped).to_have_class(re.compile("msg--stopped"))
    expect(stopped.locator(".msg__note")).to_have_text("Stopped before the end.")
    expect(transcript.locator(".msg__time").first).to_have_text(re.compile(r"\d"))
    expect(review.locator(".transcript-summary")).to_have_text(
        "2 messages · 1 whisper · 1 stopped reply."
    )
    screenshot(review, "teacher-review-transcript")

    for fmt, content_type in (("md", "text/markdown"), ("csv", "text/csv")):
        link = review.get_by_role("link", name=f"Download .{fmt}")
        with review.expect_download() as download_info:
            link.click()
        download = download_info.value
        assert download.suggested_filename == f"transcript-{session['id']}.{fmt}"
        body = Path(download.path()).read_text(encoding="utf-8-sig")
        assert QUESTION in body and HINT in body, body
        answer = review.request.get(link.get_attribute("href") or "")
        assert answer.ok
        assert answer.headers["content-type"].startswith(content_type), answer.headers
        assert "attachment" in answer.headers["content-disposition"]
    csv_head = review.request.get(f"/api/sessions/{session['id']}/transcript.csv").body()
    assert csv_head.startswith("\ufeffseq,created_at,role,text,stopped".encode())

    # The sessions list offers a ZIP of the transcripts its status filter shows.
    review.goto("/teacher#/sessions?status=completed")
    zip_button = review.get_by_role("button", name="Download completed transcripts (.zip)")
    with review.expect_download() as download_info:
        zip_button.click()
    archive = zipfile.ZipFile(io.BytesIO(Path(download_info.value.path()).read_bytes()))
    assert archive.namelist() == [f"transcript-{session['id']}.json"]
    expect(review.locator(".zip-download [role=status]")).to_contain_text("Downloaded")

    phone = open_teacher(
        new_context, f"/sessions/{session['id']}", on=policy_site, teacher=teacher, phone=True
    )
    expect(phone.locator(".transcript--review .msg")).to_have_count(3)
    screenshot(phone, "teacher-review-transcript-phone")


def test_extend_reopens_an_expired_session(new_context: NewContext, site: Site) -> None:
    session = site.new_session(seconds=3, start=False, student_name="Extended Student")
    student = open_student(new_context, session, status="Not started")
    with site.teacher_api() as api:
        api.post(f"/api/sessions/{session['id']}/start").raise_for_status()
        expect(student.locator("#end-screen")).to_be_visible(timeout=REPLY_TIMEOUT_MS)
        expect(student.locator("#end-reopen")).to_be_visible()
        assert (
            wait_for_session(api, session["id"], lambda s: s["status"] == "expired")["status"]
            == "expired"
        )

    review = open_teacher(new_context, f"/sessions/{session['id']}")
    heading = review.get_by_role("heading", name=re.compile("Session: Extended Student"))
    expect(heading.locator(".badge")).to_have_text("Expired")
    review.get_by_role("button", name="Extend").click()
    dialog = review.get_by_role("dialog")
    expect(dialog).to_contain_text("Extending an expired session reopens it.")
    screenshot(review, "teacher-extend-dialog")
    dialog.get_by_role("button", name="Extend").click()
    expect(dialog).to_be_hidden()
    expect(heading.locator(".badge")).to_have_text("Active")
    audit = review.locator("table.audit")
    expect(audit).to_contain_text("extended")
    expect(audit.locator("tr", has_text="extended")).to_contain_text('"add_seconds":600')

    # The student's end screen notices the reopening and continues the chat.
    expect(student.locator("#chat-screen")).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    expect(student.locator("#status-badge")).to_have_text("Active")
    say(student, "Thanks for the extra time.")
    wait_for_replies(student, 1)
