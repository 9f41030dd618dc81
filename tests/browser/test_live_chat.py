"""Live chat over the real WebSocket: streaming, observers, resume after a network cut,
expiry and whispers. A student and a teacher each get their own browser context."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, screenshot
from tests.browser.helpers import (
    REPLY_TIMEOUT_MS,
    NewContext,
    client_texts,
    last_reply,
    open_student,
    open_teacher,
    say,
    wait_for_replies,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def open_observer(new_context: NewContext, session: dict[str, Any]) -> Page:
    page = open_teacher(new_context, f"/observe/{session['id']}")
    expect(page.locator(".tile .badge")).to_have_text("Active")
    expect(page.locator(".tile__presence")).to_contain_text("Student online")
    return page


def test_reply_streams_to_student_and_observer(new_context: NewContext, site: Site) -> None:
    session = site.new_session(student_name="Stream Student")
    student = open_student(new_context, session)
    observer = open_observer(new_context, session)

    say(student, "Hello, I'm Robin, a student social worker. What brings you here today?")
    mine = student.locator(".msg--student")
    expect(mine).to_have_count(1)
    expect(mine.locator(".msg__text")).to_have_text(re.compile("^Hello, I'm Robin"))
    expect(observer.locator(".msg--student .msg__text")).to_have_text(
        re.compile("^Hello, I'm Robin")
    )

    # Word by word: both sides see the reply while it is still streaming.
    streaming = student.locator(".msg--client.msg--streaming .msg__text")
    expect(streaming).to_have_text(re.compile(r"\S"))
    expect(student.get_by_role("button", name="Stop reply")).to_be_visible()
    expect(student.get_by_role("button", name="Send")).to_be_disabled()
    expect(observer.locator(".msg--client.msg--streaming .msg__text")).to_have_text(
        re.compile(r"\S")
    )
    screenshot(student, "student-streaming")

    wait_for_replies(student, 1)
    wait_for_replies(observer, 1)
    reply = client_texts(student)
    assert len(reply) == 1 and reply[0].strip(), reply
    assert client_texts(observer) == reply
    expect(student.locator("#announcer")).to_have_text(f"Sam Rivera: {reply[0]}")
    expect(student.get_by_role("button", name="Stop reply")).to_be_hidden()
    expect(student.locator("#student-tokens-value")).not_to_have_text(re.compile(r"^20,000 of"))
    screenshot(student, "student-chat")
    screenshot(observer, "teacher-observer")

    phone = new_context(phone=True).new_page()
    phone.goto(session["join_url"])  # a second tab rebuilds the conversation from history
    expect(phone.locator(".msg")).to_have_count(2)
    assert client_texts(phone) == reply
    screenshot(phone, "student-chat-phone")


def test_network_cut_mid_reply_resumes_without_gaps(new_context: NewContext, site: Site) -> None:
    session = site.new_session(student_name="Offline Student")
    student = open_student(new_context, session)
    observer = open_observer(new_context, session)

    # Warm up so the next reply is a longer one, then cut the network mid-reply.
    say(student, "Hi Sam, thanks for coming. How have you been sleeping lately?")
    wait_for_replies(student, 1)
    say(student, "That sounds hard. Can you tell me more about what a typical night is like?")
    expect(student.locator(".msg--client")).to_have_count(2)
    partial = last_reply(student)
    expect(partial).to_have_class(re.compile("msg--streaming"))
    expect(partial.locator(".msg__text")).to_have_text(re.compile(r"\S"))
    student.context.set_offline(True)
    expect(student.locator("#connection-banner")).to_be_visible()
    expect(student.locator("#connection-banner")).to_contain_text("Reconnecting")
    cut_at = partial.locator(".msg__text").text_content() or ""

    # The reply carries on without the student; the observer sees it finish.
    expect(observer.locator(".msg--streaming")).to_have_count(0, timeout=REPLY_TIMEOUT_MS)
    full = client_texts(observer)
    assert len(full) == 2
    assert full[1].startswith(cut_at) and len(full[1]) > len(cut_at), (cut_at, full[1])
    screenshot(student, "student-offline")

    student.context.set_offline(False)
    expect(student.locator("#connection-banner")).to_be_hidden(timeout=REPLY_TIMEOUT_MS)
    expect(student.locator(".msg--streaming")).to_have_count(0, timeout=REPLY_TIMEOUT_MS)
    assert client_texts(student) == full
    expect(student.locator(".msg--student")).to_have_count(2)
    expect(student.locator(".msg--pending")).to_have_count(0)

    # The resumed socket is live: the next turn streams normally on both sides.
    say(student, "Thank you for telling me.")
    wait_for_replies(student, 3)
    wait_for_replies(observer, 3)
    assert client_texts(student) == client_texts(observer)


def test_a_say_sent_while_offline_is_delivered_once(new_context: NewContext, site: Site) -> None:
    session = site.new_session(student_name="Queued Student")
    student = open_student(new_context, session)
    observer = open_observer(new_context, session)
    student.context.set_offline(True)
    expect(student.locator("#connection-banner")).to_be_visible()
    say(student, "Are you still there?")
    expect(student.locator(".msg--pending")).to_have_count(1)
    student.context.set_offline(False)
    expect(student.locator(".msg--pending")).to_have_count(0, timeout=REPLY_TIMEOUT_MS)
    expect(observer.locator(".msg--student")).to_have_count(1)
    wait_for_replies(student, 1)
    wait_for_replies(observer, 1)
    expect(student.locator(".msg--student")).to_have_count(1)
    assert client_texts(student) == client_texts(observer)


def test_time_running_out_shows_the_end_screen(new_context: NewContext, site: Site) -> None:
    session = site.new_session(seconds=8, student_name="Expiring Student")
    student = open_student(new_context, session, phone=True)
    say(student, "Hi Sam, we only have a few seconds today.")
    wait_for_replies(student, 1)
    reply = client_texts(student)
    # The time meter turns amber at 80% used (1.6 s before the end of an 8 s session).
    expect(student.locator("#student-time")).to_have_class(
        re.compile("is-(warn|critical)"), timeout=10_000
    )
    end = student.locator("#end-screen")
    expect(end).to_be_visible(timeout=15_000)
    expect(end.get_by_role("heading", level=2)).to_have_text("The session has expired")
    expect(student.locator("#end-reason")).to_have_text("The time for this session ran out.")
    expect(student.locator("#chat-screen")).to_be_hidden()
    # The conversation, as saved on the server (released to the student once it ended).
    saved = student.locator("#end-transcript[data-source=saved]")
    expect(saved.locator(".msg")).to_have_count(2)
    expect(saved.locator(".msg--student .msg__text")).to_have_text(
        "Hi Sam, we only have a few seconds today."
    )
    assert client_texts(student) == reply
    expect(student.locator("#end-reopen")).to_be_visible()
    screenshot(student, "student-expired-phone")

    # Opening the finished session again shows the same end screen with the conversation.
    student.reload()
    expect(end.get_by_role("heading", level=2)).to_have_text("The session has expired")
    expect(saved.locator(".msg")).to_have_count(2)
    assert client_texts(student) == reply


def test_whisper_is_distinct_and_student_can_end(new_context: NewContext, site: Site) -> None:
    session = site.new_session(student_name="Whisper Student")
    student = open_student(new_context, session)
    observer = open_observer(new_context, session)

    observer.get_by_role("textbox", name="Whisper a hint").fill("Try reflecting their feelings.")
    observer.get_by_role("button", name="Whisper").click()
    hint = student.locator(".msg--whisper")
    expect(hint).to_have_count(1)
    expect(hint.locator(".msg__who")).to_have_text("Hint from your teacher")
    expect(hint.locator(".msg__text")).to_have_text("Try reflecting their feelings.")
    expect(observer.locator(".msg--whisper .msg__text")).to_have_text(
        "Try reflecting their feelings."
    )
    screenshot(student, "student-whisper")

    student.get_by_role("button", name="End session").click()
    dialog = student.get_by_role("dialog")
    expect(dialog).to_contain_text("End the session?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(student.locator("#status-badge")).to_have_text("Active")
    student.get_by_role("button", name="End session").click()
    student.get_by_role("dialog").get_by_role("button", name="End session").click()
    expect(student.locator("#end-reason")).to_have_text("You ended the session.")
    expect(observer.locator(".tile .badge")).to_have_text("Completed")
    expect(observer.locator(".tile__conn")).to_have_text("The student ended the session.")
    screenshot(student, "student-ended")
