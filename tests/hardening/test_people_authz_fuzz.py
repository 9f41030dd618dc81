"""People: authorisation fuzz (issue 16), in process on SQLite and PostgreSQL. Teacher A runs
two live sessions (S1 with its student, S2 with another student who talks, so S2 has
traffic to leak); teacher B runs one of their own. Then random socket frames from S1's
student and random API calls (every operation of ``/openapi.json``, with A's ids, B's ids,
unknown and malformed ids, and random bodies) from S1's student and from teacher B.

Holds: no frame of S2 (its ids, its student's words) or an observers-only event ever
reaches S1's student; no teacher-only action is performed (the sessions keep their status,
no whisper or direction is logged, A's library and join links are unchanged); no call
answers 500, every error is ``{"error": {"code", "message"}}``, and the only successes are
on the caller's own things. CI: 300 frames and 300 calls per caller; HARDENING_FULL: 3,000."""

from __future__ import annotations

import json
import random
import re
import uuid
from typing import Any

import httpx
from starlette.applications import Starlette

from realtime.vocabulary import ClientType
from tests.api.conftest import ClientFactory, NewTeacher, make_session
from tests.hardening.conftest import repetitions
from tests.support.asgi_socket import AsgiSocket, ClosedError

SEED = 16
SECRET = "S2-SECRET-WORDS"
OBSERVERS_ONLY = {"client.state", "direction", "reply.flagged", "reply.usage"}
#: Calls that end the caller's own login would stop the fuzz, not test it.
SKIPPED = {("post", "/api/auth/logout"), ("post", "/api/auth/password")}


async def _started(teacher: httpx.AsyncClient) -> dict[str, Any]:
    session = await make_session(teacher)
    assert (await teacher.post(f"/api/sessions/{session['id']}/start")).status_code == 200
    return session


async def _joined(make: ClientFactory, session: dict[str, Any]) -> httpx.AsyncClient:
    student = make()
    assert (await student.get(session["join_url"].removeprefix("http://testserver"))).is_redirect
    return student


def _frame(rng: random.Random, ids: list[str]) -> str:
    """A random client frame: mostly well-formed, of every type, with hostile fields."""
    kinds = [*ClientType, "subscribe", "join", "", None, 7]
    frame: dict[str, Any] = {"type": rng.choice(kinds)}
    for field in rng.sample(["text", "client_id", "reply_id", "session_id", "nonce", "role"], 3):
        # Foreign ids only where they name something: text a student says is echoed back.
        pool = ids[:1] if field in ("text", "client_id") else ids
        frame[field] = rng.choice(
            [
                rng.choice(pool),
                f"{SECRET}?",
                "x" * rng.randint(1, 80),
                rng.randint(-5, 5),
                None,
                ["a"],
                {"$ne": 1},
            ]
        )
    if rng.random() < 0.05:
        return rng.choice(["{", "[]", "null", '"say"', "\x00", "{" * 200])
    return json.dumps(frame)


def _operations(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"} and (method, path) not in SKIPPED
    ]


def _body(rng: random.Random, ids: list[str]) -> Any:
    return rng.choice(
        [
            None,
            {},
            {"name": "<b>x</b>", "status": "ended", "add_seconds": 60, "add_tokens": 1000},
            {
                "profile_id": rng.choice(ids),
                "rubric_id": rng.choice(ids),
                "student_name": "X",
                "time_limit_seconds": 600,
                "token_budget": 5000,
            },
            {"student_may_restart": True},
            {"scores": [], "released": True},
            [rng.choice(ids)],
        ]
    )


async def test_random_frames_and_calls_reach_nothing_of_anyone_else(
    app: Starlette,
    new_teacher: NewTeacher,
    make_client: ClientFactory,
) -> None:
    count = repetitions(ci=300, full=3_000)
    rng = random.Random(SEED)
    teacher_a, teacher_b = await new_teacher(), await new_teacher()
    s1, s2, sb = await _started(teacher_a), await _started(teacher_a), await _started(teacher_b)
    student1, student2 = await _joined(make_client, s1), await _joined(make_client, s2)
    a_ids = [s1["id"], s2["id"], s1["profile_id"], s1["rubric_id"], s2["profile_id"]]
    b_ids = [sb["id"], sb["profile_id"], sb["rubric_id"]]
    ids = [*a_ids, *b_ids, str(uuid.uuid4()), "not-a-uuid", "..", "%00", "0" * 40]
    library_before = (await teacher_a.get("/api/profiles")).json()

    # S2 has traffic while S1's student fuzzes.
    async with AsgiSocket(app, f"/ws/sessions/{s2['id']}", cookies=student2.cookies) as other:
        await other.recv()
        await other.send(type="say", text=f"{SECRET} about my week", client_id="s2-1")
        frames, reconnects, received = await _fuzz_frames(app, s1["id"], student1, rng, ids, count)
    leaks = [e for e in received if _leaks(e, s2, sb)]
    assert not leaks, leaks[:3]

    calls: dict[str, dict[int, int]] = {"student": {}, "teacher B": {}}
    document = (await teacher_a.get("/openapi.json")).json()
    operations = _operations(document)
    for who, client in (("student", student1), ("teacher B", teacher_b)):
        for _ in range(count):
            method, template = rng.choice(operations)
            path = re.sub(r"\{[^}]+\}", lambda _: rng.choice(ids), template)
            body = _body(rng, ids)
            answer = await client.request(
                method.upper(), path, json=body if method != "get" else None
            )
            calls[who][answer.status_code] = calls[who].get(answer.status_code, 0) + 1
            assert answer.status_code < 500, (who, method, path, answer.text)
            if answer.status_code >= 400 and answer.headers.get("content-type", "").startswith(
                "application/json"
            ):
                error = answer.json()["error"]
                assert isinstance(error["code"], str) and isinstance(error["message"], str)
            if 200 <= answer.status_code < 300:
                _may_succeed(who, method, path, a_ids, s1["id"])

    # Nothing of A's changed: statuses, the library, the join links; no whisper or
    # direction was logged in either session.
    for session in (s1, s2):
        now = (await teacher_a.get(f"/api/sessions/{session['id']}")).json()
        assert now["status"] == "active", now
        assert now["join_url"] == session["join_url"]
        events = (await teacher_a.get(f"/api/sessions/{session['id']}/events")).json()["items"]
        kinds = {e["kind"] for e in events}
        assert not kinds & {"paused", "ended", "extended", "whisper", "direction"}, kinds
    assert (await teacher_a.get("/api/profiles")).json() == library_before
    print(
        f"HARDENING authz fuzz: {frames} frames from S1's student ({reconnects} abuse "
        f"closes), {len(received)} events received, 0 of another session or observers-only; "
        f"API calls by status: student {dict(sorted(calls['student'].items()))}, "
        f"teacher B {dict(sorted(calls['teacher B'].items()))}; 0 answered 500"
    )


async def _fuzz_frames(
    app: Starlette,
    sid: str,
    student: httpx.AsyncClient,
    rng: random.Random,
    ids: list[str],
    count: int,
) -> tuple[int, int, list[dict[str, Any]]]:
    """Send ``count`` random frames, reopening the socket whenever the server closes it
    for abuse (20 refused frames a minute); returns frames, reopenings and events."""
    received: list[dict[str, Any]] = []
    sent = reconnects = 0
    while sent < count:
        async with AsgiSocket(app, f"/ws/sessions/{sid}", cookies=student.cookies) as sock:
            try:
                received.append(await sock.recv())
                while sent < count:
                    await sock.send_raw(_frame(rng, ids))
                    sent += 1
                    # A ping after each frame: its pong bounds what the frame caused.
                    await sock.send(type="ping", nonce=str(sent))
                    while (event := await sock.recv())["type"] != "pong":
                        received.append(event)
            except ClosedError as closed:
                assert closed.closed.code == 1008, closed.closed
                reconnects += 1
    return sent, reconnects, received


def _leaks(event: dict[str, Any], s2: dict[str, Any], sb: dict[str, Any]) -> bool:
    text = json.dumps(event)
    return (
        event.get("type") in OBSERVERS_ONLY
        or SECRET in text.replace(f"{SECRET}?", "")
        or s2["id"] in text
        or sb["id"] in text
    )


def _may_succeed(who: str, method: str, path: str, a_ids: list[str], s1: str) -> None:
    """A 2xx is fine only on the caller's own things: the student's own session (read),
    teacher B's own library and sessions, and lists, which are scoped to the caller."""
    if who == "student":
        assert method == "get" and path.startswith(("/api/student/sessions/" + s1, "/openapi")), (
            who,
            method,
            path,
        )
        return
    assert not any(a_id in path for a_id in a_ids), (who, method, path)
