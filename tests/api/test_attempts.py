"""Attempts: restarting a session (teacher, student when allowed), the attempts list, the
student's move to the next attempt, the join link of a series; SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from starlette.applications import Starlette

from realtime.lifecycle import SessionAction
from storage.repos import transcripts as transcript_repo
from storage.repos import usage as usage_repo
from tests.api.conftest import ClientFactory, NewTeacher, make_session, state_of


async def student_of(make_client: ClientFactory, session: dict[str, Any]) -> httpx.AsyncClient:
    student = make_client()
    joined = await student.get(session["join_url"].removeprefix("http://testserver"))
    assert joined.status_code == 303, joined.text
    return student


async def said(app: Starlette, session_id: str, *turns: str) -> None:
    """Messages into SQL as the flusher stores them, and one priced provider call."""
    sid = uuid.UUID(session_id)
    async with state_of(app).db.session() as db:
        for seq, text in enumerate(turns, start=1):
            role = "student" if seq % 2 else "client"
            await transcript_repo.add_message(db, sid, seq=seq, role=role, text=text)
        session = await state_of(app).control.load(sid)
        await usage_repo.record_call(
            db,
            session.owner_id,
            session_id=sid,
            provider="scripted",
            model="scripted",
            input_tokens=300,
            output_tokens=40,
            duration_ms=5,
            outcome="ok",
            cost_micros=1_200,
            currency="USD",
        )


async def started(teacher: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    session = await make_session(teacher, **overrides)
    response = await teacher.post(f"/api/sessions/{session['id']}/start")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_teacher_restart_keeps_the_old_attempt_and_starts_a_fresh_one(
    app: Starlette, new_teacher: NewTeacher
) -> None:
    teacher = await new_teacher()
    first = await started(teacher, time_limit_seconds=1200, token_budget=5000)
    await said(app, first["id"], "Hello, I'm Sam.", "Hi.", "What brings you here?")
    # Some of the first attempt's clock and budget are spent.
    async with state_of(app).db.session() as db:
        row = await state_of(app).control.load(uuid.UUID(first["id"]))
        row.tokens_used = 340
        db.add(row)
    await teacher.post(f"/api/sessions/{first['id']}/pause")

    response = await teacher.post(f"/api/sessions/{first['id']}/restart")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["previous"] == {
        "id": first["id"],
        "attempt": 1,
        "status": "completed",
        "end_reason": "restarted",
    }
    assert body["next"]["attempt"] == 2 and body["next"]["status"] == "active"
    second = (await teacher.get(f"/api/sessions/{body['next']['id']}")).json()
    # A fresh clock and budget; everything else as the first attempt.
    assert second["tokens_used"] == 0 and second["tokens_left"] == 5000
    assert 1190 <= second["seconds_left"] <= 1200
    assert second["attempt_of"] == first["id"] and second["latest_attempt_id"] == second["id"]
    for name in ("profile_id", "rubric_id", "student_name", "time_limit_seconds", "model"):
        assert second[name] == first[name], name
    old = (await teacher.get(f"/api/sessions/{first['id']}")).json()
    assert old["latest_attempt_id"] == second["id"] and old["tokens_used"] == 340

    transcript = (await teacher.get(f"/api/sessions/{first['id']}/transcript")).json()
    assert [m["text"] for m in transcript["items"]] == [
        "Hello, I'm Sam.",
        "Hi.",
        "What brings you here?",
    ]
    events = (await teacher.get(f"/api/sessions/{first['id']}/events")).json()["items"]
    restarted = [e for e in events if e["kind"] == "restarted"]
    assert restarted[0]["data"] == {"next_session_id": second["id"], "attempt": 2}
    assert events[-1]["kind"] == "completed" and events[-1]["data"]["reason"] == "restarted"

    for named in (first["id"], second["id"]):  # either attempt lists the whole series
        items = (await teacher.get(f"/api/sessions/{named}/attempts")).json()["items"]
        assert [(a["attempt"], a["status"], a["latest"]) for a in items] == [
            (1, "completed", False),
            (2, "active", True),
        ]
        assert [a["messages"] for a in items] == [3, 0]
        assert items[0]["evaluation_status"] in ("pending", "running", "done")
        assert items[1]["evaluation_status"] is None
        assert items[0]["usage"] == {
            "tokens_used": 340,
            "token_budget": 5000,
            "calls": 1,
            "input_tokens": 300,
            "output_tokens": 40,
            "cost_micros": {"USD": 1200},
            "unpriced_calls": 0,
        }
        assert items[1]["usage"]["calls"] == 0 and items[1]["usage"]["tokens_used"] == 0


async def test_only_the_latest_attempt_restarts_and_a_replaced_one_is_not_extended(
    app: Starlette, new_teacher: NewTeacher
) -> None:
    teacher = await new_teacher()
    first = await started(teacher)
    await state_of(app).control.transition(
        uuid.UUID(first["id"]), SessionAction.EXPIRE, actor="system:test", reason="time"
    )
    second = (await teacher.post(f"/api/sessions/{first['id']}/restart")).json()["next"]
    # An ended attempt restarted by the teacher waits for Start (its clock not running).
    assert second["status"] == "created"
    again = await teacher.post(f"/api/sessions/{first['id']}/restart")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "not_latest_attempt"
    assert again.json()["error"]["latest_attempt_id"] == second["id"]
    extend = await teacher.post(f"/api/sessions/{first['id']}/extend", json={"add_seconds": 60})
    assert extend.status_code == 409 and extend.json()["error"]["code"] == "not_latest_attempt"
    # A never-started attempt has nothing to restart.
    not_started = await teacher.post(f"/api/sessions/{second['id']}/restart")
    assert not_started.status_code == 409 and not_started.json()["error"]["code"] == "not_started"
    assert (await teacher.get(f"/api/sessions/{first['id']}")).json()["status"] == "expired"


async def test_two_restarts_at_once_make_exactly_one_new_attempt(
    new_teacher: NewTeacher, make_client: ClientFactory
) -> None:
    teacher = await new_teacher()
    first = await started(teacher, student_may_restart=True)
    student = await student_of(make_client, first)
    path = f"/api/sessions/{first['id']}/restart"
    answers = await asyncio.gather(teacher.post(path), student.post(path), teacher.post(path))
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [201, 409, 409], [a.text for a in answers]
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} <= {
        "not_latest_attempt",
        "conflict",
    }
    items = (await teacher.get(f"/api/sessions/{first['id']}/attempts")).json()["items"]
    assert [a["attempt"] for a in items] == [1, 2]


async def test_the_student_restarts_only_when_allowed(
    new_teacher: NewTeacher, make_client: ClientFactory
) -> None:
    teacher = await new_teacher()
    locked = await started(teacher)
    student = await student_of(make_client, locked)
    refused = await student.post(f"/api/sessions/{locked['id']}/restart")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "restart_not_allowed"

    allowed = await started(teacher, student_may_restart=True)
    assert allowed["student_may_restart"] is True
    student = await student_of(make_client, allowed)
    await teacher.post(f"/api/sessions/{allowed['id']}/end")
    response = await student.post(f"/api/sessions/{allowed['id']}/restart")
    assert response.status_code == 201, response.text
    second = response.json()["next"]
    # The student is on the page: their restart starts the new attempt at once.
    assert second["status"] == "active"
    # The answer set the new attempt's cookie; the old one still reads attempt 1.
    mine = (await student.get(f"/api/student/sessions/{second['id']}")).json()
    assert mine["attempt"] == 2 and mine["student_may_restart"] is True
    assert [(a["attempt"], a["readable"]) for a in mine["attempts"]] == [(1, True), (2, True)]
    old = (await student.get(f"/api/student/sessions/{allowed['id']}")).json()
    assert old["status"] == "completed" and old["latest_attempt_id"] == second["id"]
    # The attempts list is the teacher's.
    assert (await student.get(f"/api/sessions/{allowed['id']}/attempts")).status_code == 401


async def test_nobody_else_restarts_or_lists(
    new_teacher: NewTeacher, make_client: ClientFactory
) -> None:
    owner = await new_teacher()
    session = await started(owner, student_may_restart=True)
    other_teacher = await new_teacher()
    other_session = await started(other_teacher, student_may_restart=True)
    other_student = await student_of(make_client, other_session)
    for caller in (other_teacher, other_student):
        restart = await caller.post(f"/api/sessions/{session['id']}/restart")
        assert restart.status_code == 404, restart.text
    assert (await other_teacher.get(f"/api/sessions/{session['id']}/attempts")).status_code == 404
    nobody = make_client()
    assert (await nobody.post(f"/api/sessions/{session['id']}/restart")).status_code == 401
    hop = await other_student.post(f"/api/student/sessions/{session['id']}/next-attempt")
    assert hop.status_code == 401
    items = (await owner.get(f"/api/sessions/{session['id']}/attempts")).json()["items"]
    assert [a["attempt"] for a in items] == [1]


async def test_the_student_moves_on_and_the_link_follows_the_series(
    new_teacher: NewTeacher, make_client: ClientFactory
) -> None:
    teacher = await new_teacher()
    first = await started(teacher)
    student = await student_of(make_client, first)
    hop = f"/api/student/sessions/{first['id']}/next-attempt"
    early = await student.post(hop)
    assert early.status_code == 409 and early.json()["error"]["code"] == "no_next_attempt"

    second = (await teacher.post(f"/api/sessions/{first['id']}/restart")).json()["next"]
    assert (await student.get(f"/api/student/sessions/{second['id']}")).status_code == 401
    moved = await student.post(hop)
    assert moved.status_code == 200, moved.text
    assert moved.json() == {"id": second["id"], "attempt": 2, "status": "active"}
    assert (await student.get(f"/api/student/sessions/{second['id']}")).status_code == 200

    # The first attempt's join link now opens the latest attempt.
    newcomer = make_client()
    joined = await newcomer.get(first["join_url"].removeprefix("http://testserver"))
    assert joined.status_code == 303 and joined.headers["location"] == f"/s/{second['id']}"
    # A new link for the latest attempt cuts the old link and the old cookie off it.
    await teacher.post(f"/api/sessions/{second['id']}/join-link")
    stale = await make_client().get(first["join_url"].removeprefix("http://testserver"))
    assert stale.status_code == 404
    refused = await student.post(hop)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "link_revoked"


async def test_the_teacher_allows_restarting_later_for_the_whole_series(
    new_teacher: NewTeacher, make_client: ClientFactory
) -> None:
    teacher = await new_teacher()
    first = await started(teacher)
    student = await student_of(make_client, first)
    second = (await teacher.post(f"/api/sessions/{first['id']}/restart")).json()["next"]
    await student.post(f"/api/student/sessions/{first['id']}/next-attempt")
    refused = await student.post(f"/api/sessions/{second['id']}/restart")
    assert refused.status_code == 403

    edited = await teacher.patch(f"/api/sessions/{first['id']}", json={"student_may_restart": True})
    assert edited.status_code == 200, edited.text
    assert edited.json()["student_may_restart"] is True
    for named in (first["id"], second["id"]):
        body = (await teacher.get(f"/api/sessions/{named}")).json()
        assert body["student_may_restart"] is True, named
    assert (await student.post(f"/api/sessions/{second['id']}/restart")).status_code == 201
    bad = await teacher.patch(f"/api/sessions/{first['id']}", json={"student_may_restart": 1})
    assert bad.status_code == 422 and "student_may_restart" in bad.json()["error"]["fields"]
    other = await new_teacher()
    patch = {"student_may_restart": False}
    assert (await other.patch(f"/api/sessions/{first['id']}", json=patch)).status_code == 404
