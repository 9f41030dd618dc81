"""Sessions: creation and validation, listing, the state machine, the audit trail."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette

from realtime.control import SessionControl
from realtime.lifecycle import SessionAction
from tests.api.conftest import NewTeacher, make_session, state_of

ACTIONS = ["start", "pause", "resume", "end"]
# status -> the API actions that are legal from it and where they lead
LEGAL = {
    "created": {"start": "active", "end": "completed"},
    "active": {"pause": "paused", "end": "completed"},
    "paused": {"resume": "active", "end": "completed"},
    "completed": {},
    "expired": {},
}


async def _drive_to(app: Starlette, teacher: httpx.AsyncClient, status: str) -> str:
    session = await make_session(teacher)
    sid = str(session["id"])
    path = {
        "created": [],
        "active": ["start"],
        "paused": ["start", "pause"],
        "completed": ["end"],
        "expired": ["start"],
    }[status]
    for action in path:
        assert (await teacher.post(f"/api/sessions/{sid}/{action}")).status_code == 200
    if status == "expired":
        await state_of(app).control.transition(
            uuid.UUID(sid), SessionAction.EXPIRE, actor="system:test", reason="time"
        )
    return sid


async def test_create_session_returns_join_url(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    # The one-model catalog (no LLM_CATALOG) is the scripted client, id "scripted".
    session = await make_session(teacher, student_email="Sam@Uni.Example", model="scripted")
    assert session["status"] == "created"
    assert session["model"] == "scripted"
    assert session["join_url"].startswith("http://testserver/join/")
    assert session["student_email"] == "sam@uni.example"
    assert session["seconds_left"] == 600
    assert session["tokens_left"] == 5000
    events = (await teacher.get(f"/api/sessions/{session['id']}/events")).json()["items"]
    assert [e["kind"] for e in events] == ["created"]
    assert events[0]["actor"].startswith("teacher:")


async def test_session_validation_uses_limits_policy(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    profile = (await teacher.get("/api/profiles")).json()["items"]
    assert profile == []
    response = await teacher.post(
        "/api/sessions",
        json={
            "profile_id": "00000000-0000-0000-0000-000000000000",
            "rubric_id": "nope",
            "student_name": "",
            "student_email": "not-an-email",
            "time_limit_seconds": 299,
            "token_budget": 200_001,
        },
    )
    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    assert fields["time_limit_seconds"] == "must be between 300 and 10800 seconds"
    assert fields["token_budget"] == "must be between 1,000 and 200,000 tokens"
    assert fields["student_email"] == "must be an email address like name@example.org"
    assert "rubric_id" in fields and "student_name" in fields


async def test_limit_bounds_are_inclusive(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    low = await make_session(teacher, time_limit_seconds=300, token_budget=1000)
    high = await make_session(teacher, time_limit_seconds=10_800, token_budget=200_000)
    assert (low["time_limit_seconds"], high["token_budget"]) == (300, 200_000)


@pytest.mark.parametrize(("status", "action"), list(itertools.product(LEGAL, ACTIONS)))
async def test_every_transition(
    app: Starlette, new_teacher: NewTeacher, status: str, action: str
) -> None:
    teacher = await new_teacher()
    sid = await _drive_to(app, teacher, status)
    response = await teacher.post(f"/api/sessions/{sid}/{action}")
    expected = LEGAL[status].get(action)
    if expected is None:
        assert response.status_code == 409, response.text
        error = response.json()["error"]
        assert error["code"] == "illegal_transition"
        assert error["status"] == status
        assert (await teacher.get(f"/api/sessions/{sid}")).json()["status"] == status
    else:
        assert response.status_code == 200, response.text
        assert response.json()["status"] == expected


async def test_audit_trail_records_each_transition(app: Starlette, new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    sid = await _drive_to(app, teacher, "created")
    for action in ["start", "pause", "resume", "end"]:
        assert (await teacher.post(f"/api/sessions/{sid}/{action}")).status_code == 200
    events = (await teacher.get(f"/api/sessions/{sid}/events")).json()["items"]
    assert [e["kind"] for e in events] == ["created", "started", "paused", "resumed", "completed"]
    assert all(e["actor"].startswith("teacher:") for e in events)
    session = (await teacher.get(f"/api/sessions/{sid}")).json()
    assert session["ended_at"] is not None and session["end_reason"] == "teacher"


async def test_expired_session_can_be_extended(app: Starlette, new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    sid = await _drive_to(app, teacher, "expired")
    session = (await teacher.get(f"/api/sessions/{sid}")).json()
    assert (session["status"], session["end_reason"]) == ("expired", "time")
    nothing = await teacher.post(f"/api/sessions/{sid}/extend", json={})
    assert nothing.status_code == 422
    extended = await teacher.post(
        f"/api/sessions/{sid}/extend", json={"add_seconds": 120, "add_tokens": 1000}
    )
    assert extended.status_code == 200, extended.text
    body = extended.json()
    assert (body["status"], body["time_limit_seconds"], body["token_budget"]) == (
        "active",
        720,
        6000,
    )
    events = (await teacher.get(f"/api/sessions/{sid}/events")).json()["items"]
    assert events[-1]["kind"] == "extended"
    assert events[-1]["data"] == {"add_seconds": 120, "add_tokens": 1000}


async def test_list_filters_and_paginates(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    ids = [(await make_session(teacher))["id"] for _ in range(5)]
    await teacher.post(f"/api/sessions/{ids[0]}/start")
    await teacher.post(f"/api/sessions/{ids[1]}/end")
    page = (await teacher.get("/api/sessions?limit=2&offset=0")).json()
    assert (page["total"], len(page["items"]), page["limit"]) == (5, 2, 2)
    second = (await teacher.get("/api/sessions?limit=2&offset=2")).json()
    assert not {s["id"] for s in page["items"]} & {s["id"] for s in second["items"]}
    active = (await teacher.get("/api/sessions?status=active")).json()
    assert [s["id"] for s in active["items"]] == [ids[0]]
    both = (await teacher.get("/api/sessions?status=active,completed")).json()
    assert both["total"] == 2
    bad = await teacher.get("/api/sessions?status=bogus&limit=0&offset=-1")
    assert bad.status_code == 422
    assert set(bad.json()["error"]["fields"]) == {"status", "limit", "offset"}


async def test_seconds_left_excludes_paused_time(app: Starlette, new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    sid = await _drive_to(app, teacher, "created")
    start = datetime(2030, 1, 1, tzinfo=UTC)
    now = [start]
    control = SessionControl(state_of(app).db, now=lambda: now[0])
    session_id = uuid.UUID(sid)
    await control.transition(session_id, SessionAction.START, actor="t")
    now[0] = start + timedelta(seconds=100)
    await control.transition(session_id, SessionAction.PAUSE, actor="t")
    now[0] = start + timedelta(seconds=400)  # 300 s paused
    session = await control.transition(session_id, SessionAction.RESUME, actor="t")
    assert session.active_seconds == pytest.approx(100)
    assert session.deadline_at == now[0] + timedelta(seconds=500)
