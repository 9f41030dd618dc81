"""Feedback end to end against real ``vclient serve`` processes (one on SQLite; two
workers on Redis and PostgreSQL, each running the evaluation loop): a short scripted
interview, the teacher ends it, the evaluation is done within seconds, the teacher
changes a score and releases it, and the student reads it with their join-link cookie."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests.support.world import World

pytestmark = pytest.mark.slow

# The job starts the moment the end is committed and takes milliseconds with the
# automatic grader; 10 s is "within a few seconds" on a loaded CI machine.
DONE_WITHIN_SECONDS = 10.0


async def settled(http: httpx.AsyncClient, session_id: str) -> tuple[dict[str, Any], float]:
    """The evaluation once done or failed, and how long that took (bounded polling)."""
    started = time.monotonic()
    while time.monotonic() - started < DONE_WITHIN_SECONDS:
        response = await http.get(f"/api/sessions/{session_id}/evaluation")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in ("done", "failed"):
            return body, time.monotonic() - started
        await asyncio.sleep(0.1)
    raise AssertionError(f"no finished evaluation within {DONE_WITHIN_SECONDS} s")


@pytest.mark.timing  # asserts a wall-clock promise: run alone
async def test_an_ended_session_gets_feedback_the_student_reads(world: World) -> None:
    session = world.new_session()
    async with world.connect(session, as_="student") as student:
        await student.recv()  # welcome
        await student.send(
            type="say",
            text="It sounds like this has been a heavy few weeks. What has been hardest?",
            client_id="c-1",
        )
        done = await student.until(lambda e: e["type"] in ("reply.done", "reply.error"))
        assert done["type"] == "reply.done"
    first, last = world.servers[0], world.servers[-1]
    path = f"/api/sessions/{session.id}/evaluation"
    async with (
        httpx.AsyncClient(base_url=first.base_url, cookies=world.teacher_cookies) as teacher,
        httpx.AsyncClient(base_url=last.base_url, cookies=session.student_cookies) as student_http,
    ):
        assert (await teacher.get(path)).json()["error"]["code"] == "no_evaluation"
        assert (await teacher.post(f"/api/sessions/{session.id}/end")).status_code == 200

        evaluation, took = await settled(teacher, session.id)

        assert (evaluation["status"], evaluation["grader"]) == ("done", "automatic")
        assert took < DONE_WITHIN_SECONDS
        [criterion] = evaluation["criteria"]
        assert criterion["name"] == "Empathy" and criterion["automatic_score"] in (1, 2)
        transcript = (await teacher.get(f"/api/sessions/{session.id}/transcript")).json()
        seqs = {item["seq"] for item in transcript["items"]}
        assert {e["seq"] for e in criterion["evidence"]} <= seqs
        assert [c["fact"] for c in evaluation["coverage"]] == ["Lost their job last month."]
        assert evaluation["metrics"]["open_question_share"]["value"] == 1.0
        hidden = await student_http.get(f"/api/student/sessions/{session.id}/evaluation")
        assert (hidden.status_code, hidden.json()["error"]["code"]) == (403, "not_released")

        other = 3 - criterion["automatic_score"]
        changed = await teacher.patch(
            path, json={"criteria": [{"name": "Empathy", "score": other, "comment": "Well done."}]}
        )
        assert changed.status_code == 200, changed.text
        assert (await teacher.post(f"{path}/release")).status_code == 200

        seen = await student_http.get(f"/api/student/sessions/{session.id}/evaluation")
        assert seen.status_code == 200, seen.text
        [final] = seen.json()["criteria"]
        assert (final["score"], final["comment"]) == (other, "Well done.")
        assert "automatic_score" not in final
        # Exactly one evaluation run for this one end, whichever worker ran it.
        events = (await teacher.get(f"/api/sessions/{session.id}/events")).json()["items"]
        kinds = [e["kind"] for e in events]
        assert kinds.count("evaluation_override") == 1 and kinds.count("evaluation_released") == 1
        assert (await teacher.get(path)).json()["status"] == "done"
