"""A restart reaches the open sockets: the student and an observer (on another worker with
Redis) both get ``session.restarted`` before the old attempt's ``status``, the student
moves to the new attempt with the old cookie, and the old transcript is kept."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import world_of
from tests.support.world import SessionHandle, World

pytestmark = pytest.mark.slow


def of_type(kind: str) -> Any:
    return lambda event: event.get("type") == kind


async def test_student_and_observer_follow_a_teachers_restart(world: World) -> None:
    session = world.new_session()
    last = len(world.servers) - 1
    async with (
        world.connect(session, as_="student", worker=0) as student,
        world.connect(session, as_="teacher", worker=last) as teacher,
    ):
        await student.recv(), await teacher.recv()  # welcomes
        await student.send(type="say", text="Hello, I'm Kim. What brings you in?", client_id="c1")
        done = await student.until(of_type("reply.done"))
        with world.http(last) as http:
            restarted = http.post(f"/api/sessions/{session.id}/restart")
        assert restarted.status_code == 201, restarted.text
        next_id = restarted.json()["next"]["id"]
        for sock in (student, teacher):
            event = await sock.until(of_type("session.restarted"))
            assert (event["next_session_id"], event["attempt"]) == (next_id, 2)
            status = await sock.until(of_type("status"))
            assert (status["status"], status["reason"]) == ("completed", "restarted")
            assert status["seq"] > event["seq"]

    # The student's page moves on with the old attempt's cookie, on either worker.
    base = world.servers[last].base_url
    async with httpx.AsyncClient(base_url=base, cookies=session.student_cookies) as s:
        moved = await s.post(f"/api/student/sessions/{session.id}/next-attempt")
        assert moved.status_code == 200, moved.text
        assert moved.json()["id"] == next_id
        cookies = s.cookies
    follow = SessionHandle(next_id, cookies)
    async with world.connect(follow, as_="student", worker=0) as fresh:
        welcome = await fresh.recv()
        assert (welcome["type"], welcome["session_id"], welcome["status"]) == (
            "welcome",
            next_id,
            "active",
        )
        assert welcome["budget"]["tokens_used"] == 0
    # Nothing of attempt 1 is lost: its transcript is whole.
    with world.http() as http:
        items = http.get(f"/api/sessions/{session.id}/transcript").json()["items"]
    assert [m["role"] for m in items] == ["student", "client"]
    assert items[1]["text"] == done["text"]


async def test_a_students_own_restart_reaches_the_observer(world: World) -> None:
    session = world.new_session(student_may_restart=True)
    last = len(world.servers) - 1
    async with world.connect(session, as_="teacher", worker=last) as teacher:
        await teacher.recv()
        base = world.servers[0].base_url
        async with httpx.AsyncClient(base_url=base, cookies=session.student_cookies) as s:
            restarted = await s.post(f"/api/sessions/{session.id}/restart")
        assert restarted.status_code == 201, restarted.text
        event = await teacher.until(of_type("session.restarted"))
        assert event["next_session_id"] == restarted.json()["next"]["id"]


def test_a_restart_mid_reply_stops_it_and_keeps_it(
    request: pytest.FixtureRequest, tmp_path: Path, flavour: str
) -> None:
    # 4 words/s: the reply is still streaming when the restart comes. A sync test (as in
    # test_budgets_watchdog): the PostgreSQL fixture runs its own event loop.
    with world_of(request, tmp_path, flavour, SCRIPTED_TOKENS_PER_SECOND="4") as world:
        asyncio.run(_restart_mid_reply(world))


async def _restart_mid_reply(world: World) -> None:
    session = world.new_session()
    async with world.connect(session, as_="student", worker=0) as student:
        await student.recv()
        await student.send(type="say", text="How has your week been, honestly?", client_id="c1")
        start = await student.until(of_type("reply.start"))
        await student.until(of_type("reply.delta"))
        base = world.servers[-1].base_url
        async with httpx.AsyncClient(base_url=base, cookies=world.teacher_cookies) as http:
            restarted = await http.post(f"/api/sessions/{session.id}/restart")
        assert restarted.status_code == 201, restarted.text
        await student.until(of_type("session.restarted"))
        done = await student.until(
            lambda e: (
                e.get("type") in ("reply.done", "reply.error")
                and e.get("reply_id") == start["reply_id"]
            )
        )
        status = await student.until(of_type("status"))
        assert (done["type"], done["stopped"]) == ("reply.done", True)
        assert status["reason"] == "restarted" and status["seq"] > done["seq"]
    # The transcript was flushed before the status changed: the cut reply is in it.
    async with httpx.AsyncClient(base_url=base, cookies=world.teacher_cookies) as http:
        items = (await http.get(f"/api/sessions/{session.id}/transcript")).json()["items"]
    assert [(m["role"], m["stopped"]) for m in items] == [
        ("student", False),
        ("client", True),
    ]
    assert items[1]["text"] == done["text"]
