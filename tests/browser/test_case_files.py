"""Case files in Chromium over a real server: the teacher uploads two files to a profile
(one visible to students), sees them listed with type, size and visibility, downloads
one; the student's chat sidebar lists only the visible file, by its name as text, and
downloads it."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Site, screenshot
from tests.browser.helpers import NewContext, open_student, open_teacher

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LETTER = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
NOTES_NAME = "<img src=x onerror=alert(1)> notes \u2013 private.txt"
NOTES = b"Teacher-only notes: she hides the medication error.\n"


def test_teacher_uploads_and_the_student_sees_the_visible_file(
    new_context: NewContext, site: Site, tmp_path: Path
) -> None:
    teacher = site.new_teacher("case-files@school.example")
    with site.teacher_api(teacher) as api:
        profile = api.get("/api/profiles").json()["items"][0]
    page = open_teacher(new_context, f"/profiles/{profile['id']}", teacher=teacher)
    expect(page.get_by_role("heading", name="Case files")).to_be_visible()
    expect(page.get_by_text("No files yet.")).to_be_visible()

    letter = tmp_path / "Referral letter.pdf"
    letter.write_bytes(LETTER)
    page.get_by_label("File", exact=True).set_input_files(str(letter))
    page.get_by_label("Visible to students (in their chat sidebar)").check()
    page.get_by_role("button", name="Upload").click()
    files = page.get_by_role("list", name="Case files")
    expect(files.locator("li")).to_have_count(1)
    expect(files.locator("li").first).to_contain_text("PDF · 48 B · visible to students")
    expect(page.locator("#announcer")).to_have_text("Uploaded Referral letter.pdf.")

    page.get_by_label("File", exact=True).set_input_files(
        {"name": NOTES_NAME, "mimeType": "text/plain", "buffer": NOTES}
    )
    expect(page.get_by_label("Visible to students (in their chat sidebar)")).not_to_be_checked()
    page.get_by_role("button", name="Upload").click()
    expect(files.locator("li")).to_have_count(2)
    second = files.locator("li").nth(1)
    expect(second).to_contain_text("Text · 52 B · teacher only")
    # The name is text: no element was made from it.
    expect(second.locator("a")).to_have_text(NOTES_NAME)
    assert page.locator("img").count() == 0

    # A refused type shows the server's message.
    page.get_by_label("File", exact=True).set_input_files(
        {"name": "virus.pdf", "mimeType": "application/pdf", "buffer": b"MZ\x90\x00" * 10}
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("alert")).to_contain_text("not one we accept")
    expect(files.locator("li")).to_have_count(2)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download Referral letter.pdf").click()
    download = download_info.value
    assert download.suggested_filename == "Referral letter.pdf"
    assert Path(download.path()).read_bytes() == LETTER
    screenshot(page, "case-files-teacher")

    session = site.new_session(teacher=teacher)
    student = open_student(new_context, session)
    card = student.locator("#case-files-card")
    expect(card).to_be_visible()
    expect(card.get_by_role("link")).to_have_count(1)
    expect(card.get_by_role("link")).to_have_text("Referral letter.pdf")
    expect(card).to_contain_text("PDF, 48 B")
    expect(card).not_to_contain_text("notes")
    with student.expect_download() as student_download:
        card.get_by_role("link", name="Download Referral letter.pdf").click()
    assert Path(student_download.value.path()).read_bytes() == LETTER
    screenshot(student, "case-files-student")
