"""The evaluation API in-process on SQLite and PostgreSQL, with the app's own job loop and
an LLM grader served by the local fake OpenAI-compatible server: from the end of a
session to the student's released feedback, the review rules, another teacher's 404s,
a failing grader and its retry, exports, agreement and progress."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from server.settings import Settings
from storage.repos import transcripts as transcript_repo
from tests.api.conftest import ClientFactory, NewTeacher, make_session, state_of
from tests.llm.fake_openai import FakeOpenAI
from tests.llm.llm_fake_http import HttpError, Reply, serving
from tests.support.settings import make_settings

# A short interview: the student opens well, then asks a closed question.
TURNS = [
    (1, "client", "I don't really know why I'm here."),
    (2, "student", "It sounds like coming here was not your own idea."),
    (3, "client", "My manager sent me. I've been snapping at people."),
    (4, "student", "Do you sleep well?"),
    (5, "client", "No."),
]
# Polling the API for the job's end: it takes milliseconds; 15 s rides out a slow CI box.
WAIT_SECONDS = 15.0


def grader_json(seq: int = 2) -> str:
    quote = dict((s, t) for s, _, t in TURNS)[seq] if seq <= len(TURNS) else "nothing"
    return json.dumps(
        {
            "criteria": [
                {
                    "name": "Empathy",
                    "score": 3,
                    "rationale": "You reflected why the client came.",
                    "evidence": [{"seq": seq, "quote": quote}],
                }
            ],
            "alternatives": [
                {"seq": 4, "text": "How have your nights been?", "why": "It is open."}
            ],
        }
    )


@pytest.fixture
async def grader() -> AsyncIterator[FakeOpenAI]:
    fake = FakeOpenAI(script=[Reply(chunks=(grader_json(),), input_tokens=321)])
    async with serving(fake) as url:
        fake.url = url
        yield fake


@pytest.fixture
def settings(tmp_path: Path, database_url: str, grader: FakeOpenAI) -> Settings:
    return make_settings(
        tmp_path,
        database_url,
        grader_provider="openai",
        grader_model="grader-test",
        openai_base_url=grader.url + "/v1",
        llm_max_retries=0,
        evaluation_interval_seconds=0.05,
        evaluation_job_seconds=2.0,
    )


async def end_with_transcript(
    app: Starlette, teacher: httpx.AsyncClient, session: dict[str, Any]
) -> None:
    """The short transcript into SQL (as the flusher writes it), then the teacher ends it."""
    async with state_of(app).db.session() as db:
        for seq, role, text in TURNS:
            await transcript_repo.add_message(
                db, uuid.UUID(session["id"]), seq=seq, role=role, text=text
            )
    assert (await teacher.post(f"/api/sessions/{session['id']}/end")).status_code == 200


async def ended_session(app: Starlette, teacher: httpx.AsyncClient) -> dict[str, Any]:
    session = await make_session(teacher)
    await end_with_transcript(app, teacher, session)
    return session


async def settled(teacher: httpx.AsyncClient, session_id: str) -> dict[str, Any]:
    """The evaluation once it is done or failed (bounded polling of the API)."""
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            response = await teacher.get(f"/api/sessions/{session_id}/evaluation")
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            if body["status"] in ("done", "failed"):
                return body
            await asyncio.sleep(0.05)


async def student_of(make_client: ClientFactory, session: dict[str, Any]) -> httpx.AsyncClient:
    student = make_client()
    joined = await student.get(session["join_url"].removeprefix("http://testserver"))
    assert joined.status_code == 303
    return student


async def test_from_the_end_to_the_students_released_feedback(
    app: Starlette, new_teacher: NewTeacher, make_client: ClientFactory, grader: FakeOpenAI
) -> None:
    teacher = await new_teacher()
    session = await make_session(teacher)
    sid = session["id"]
    path = f"/api/sessions/{sid}/evaluation"
    student = await student_of(make_client, session)
    missing = await teacher.get(path)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "no_evaluation")
    assert (await student.get(f"/api/student/sessions/{sid}/evaluation")).status_code == 403

    await end_with_transcript(app, teacher, session)
    evaluation = await settled(teacher, sid)

    assert (evaluation["status"], evaluation["grader"], evaluation["error"]) == (
        "done",
        "llm",
        None,
    )
    [criterion] = evaluation["criteria"]
    assert criterion == {
        "name": "Empathy",
        "automatic_score": 3,
        "score": 3,
        "rationale": "You reflected why the client came.",
        "evidence": [{"seq": 2, "quote": TURNS[1][2]}],
        "comment": None,
        "reviewed_by": None,
        "reviewed_at": None,
    }
    assert evaluation["alternatives"][0]["seq"] == 4
    assert "open_question_share" in evaluation["metrics"]
    assert evaluation["rubric"][0]["levels"] == [
        {"score": 3, "descriptor": "consistently"},
        {"score": 1, "descriptor": "rarely"},
    ]
    assert evaluation["released_at"] is None
    assert grader.requests[0].body["model"] == "grader-test"

    changed = await teacher.patch(
        path, json={"criteria": [{"name": "Empathy", "score": 1, "comment": "Reflect more."}]}
    )
    assert changed.status_code == 200, changed.text
    [reviewed] = changed.json()["criteria"]
    assert (reviewed["automatic_score"], reviewed["score"], reviewed["comment"]) == (
        3,
        1,
        "Reflect more.",
    )
    assert reviewed["reviewed_by"].startswith("teacher:") and reviewed["reviewed_at"]
    events = (await teacher.get(f"/api/sessions/{sid}/events")).json()["items"]
    [audit] = [e for e in events if e["kind"] == "evaluation_override"]
    assert audit["data"] | {} == {
        "criterion": "Empathy",
        "automatic_score": 3,
        "previous_score": None,
        "score": 1,
        "previous_comment": None,
        "comment": "Reflect more.",
    }
    comment_only = await teacher.patch(
        path, json={"criteria": [{"name": "Empathy", "comment": "Reflect more often."}]}
    )
    assert comment_only.json()["criteria"][0]["score"] == 1, "a field left out is kept"
    refused = await student.get(f"/api/student/sessions/{sid}/evaluation")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "not_released")
    assert (await student.get(f"/api/sessions/{sid}/transcript")).json()["evaluation"] is None

    released = await teacher.post(f"{path}/release")
    assert released.status_code == 200 and released.json()["released_at"]
    seen = await student.get(f"/api/student/sessions/{sid}/evaluation")

    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert set(body) == {
        "status",
        "grader",
        "criteria",
        "metrics",
        "coverage",
        "alternatives",
        "rubric",
        "released_at",
    }
    assert body["criteria"] == [
        {
            "name": "Empathy",
            "score": 1,
            "rationale": "You reflected why the client came.",
            "evidence": [{"seq": 2, "quote": TURNS[1][2]}],
            "comment": "Reflect more often.",
        }
    ]
    transcript = (await student.get(f"/api/sessions/{sid}/transcript")).json()
    assert transcript["evaluation"] == body
    # The grader's call is the teacher's cost, never the student's session budget.
    usage = (await teacher.get("/api/usage?group_by=model")).json()
    assert any(row["key"] == "grader-test" for row in usage["items"]), usage
    assert (await teacher.get(f"/api/sessions/{sid}")).json()["tokens_used"] == 0


async def test_review_rules(app: Starlette, new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    session = await ended_session(app, teacher)
    path = f"/api/sessions/{session['id']}/evaluation"
    await settled(teacher, session["id"])

    cases = [
        ({"criteria": [{"name": "Warmth", "score": 3}]}, "criteria.0.name"),
        ({"criteria": [{"name": "Empathy", "score": 2}]}, "criteria.0.score"),
        ({"criteria": [{"name": "Empathy", "score": "3"}]}, "criteria.0.score"),
        ({"criteria": [{"name": "Empathy"}, {"name": "Empathy"}]}, "criteria.1.name"),
        ({"criteria": []}, "criteria"),
    ]
    for body, field in cases:
        response = await teacher.patch(path, json=body)
        assert response.status_code == 422, (body, response.text)
        assert field in response.json()["error"]["fields"], (body, response.json())
    off_scale = await teacher.patch(path, json={"criteria": [{"name": "Empathy", "score": 2}]})
    assert off_scale.json()["error"]["fields"]["criteria.0.score"] == "must be one of 1, 3"

    live = await make_session(teacher)
    early = await teacher.post(f"/api/sessions/{live['id']}/evaluation")
    assert (early.status_code, early.json()["error"]["code"]) == (409, "session_not_ended")


async def test_another_teachers_evaluation_is_not_found(
    app: Starlette, new_teacher: NewTeacher
) -> None:
    owner, other = await new_teacher(), await new_teacher()
    session = await ended_session(app, owner)
    await settled(owner, session["id"])
    path = f"/api/sessions/{session['id']}/evaluation"

    for method, url, body in [
        ("GET", path, None),
        ("POST", path, None),
        ("PATCH", path, {"criteria": [{"name": "Empathy", "score": 1}]}),
        ("POST", f"{path}/release", None),
        ("GET", f"/api/sessions/{session['id']}/transcript", None),
    ]:
        response = await other.request(method, url, json=body)
        assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    assert (await other.get("/api/agreement")).json() == {"rubrics": []}
    assert (await other.get("/api/progress")).json() == {"students": []}


async def test_a_failing_grader_fails_it_and_a_retry_succeeds(
    app: Starlette, new_teacher: NewTeacher, grader: FakeOpenAI
) -> None:
    grader.script = [HttpError(400, "invalid_request_error", "context too long")]
    teacher = await new_teacher()
    session = await ended_session(app, teacher)
    path = f"/api/sessions/{session['id']}/evaluation"

    failed = await settled(teacher, session["id"])

    assert failed["status"] == "failed" and "context too long" in failed["error"]
    assert failed["grader"] == "automatic" and failed["criteria"], "the automatic part is kept"
    refused = await teacher.post(f"{path}/release")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "evaluation_not_done")

    # Next: a grader that hangs (the job runs), then answers on the job's second attempt.
    grader.script = [
        *grader.script,
        Reply(chunks=("{",), hang=True),
        Reply(chunks=(grader_json(),)),
    ]
    grader.streaming.clear()
    again = await teacher.post(path)
    assert again.status_code == 202 and again.json()["status"] == "pending"
    await asyncio.wait_for(grader.streaming.wait(), WAIT_SECONDS)
    busy = await teacher.post(path)
    assert (busy.status_code, busy.json()["error"]["code"]) == (409, "evaluation_running")

    done = await settled(teacher, session["id"])

    assert (done["status"], done["grader"], done["error"]) == ("done", "llm", None)
    assert done["criteria"][0]["automatic_score"] == 3
    assert len(grader.requests) == 3


async def test_a_refused_answer_is_retried_through_the_app(
    app: Starlette, new_teacher: NewTeacher, grader: FakeOpenAI
) -> None:
    grader.script = [Reply(chunks=(grader_json(seq=42),)), Reply(chunks=(grader_json(),))]
    teacher = await new_teacher()
    session = await ended_session(app, teacher)

    done = await settled(teacher, session["id"])

    assert (done["status"], done["grader"]) == ("done", "llm")
    retry = grader.requests[1].body["messages"]
    assert "evidence seq 42 is not a turn" in retry[-1]["content"]


async def test_exports_carry_the_evaluation(app: Starlette, new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    session = await ended_session(app, teacher)
    await settled(teacher, session["id"])
    await teacher.patch(
        f"/api/sessions/{session['id']}/evaluation",
        json={"criteria": [{"name": "Empathy", "score": 1, "comment": "Slow down."}]},
    )

    document = (await teacher.get(f"/api/sessions/{session['id']}/transcript")).json()
    markdown = (await teacher.get(f"/api/sessions/{session['id']}/transcript.md")).text
    archive = await teacher.get("/api/transcripts.zip")

    assert document["evaluation"]["criteria"][0]["score"] == 1
    assert document["evaluation"]["status"] == "done"
    assert "## Feedback" in markdown
    assert "**Empathy**: 1 (automatic: 3)" in markdown
    assert "Teacher's comment: Slow down." in markdown
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zipped:
        [name] = zipped.namelist()
        stored = json.loads(zipped.read(name))
    assert stored["evaluation"] == document["evaluation"]


async def test_agreement_and_progress(app: Starlette, new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    first = await ended_session(app, teacher)
    second = await ended_session(app, teacher)
    for session in (first, second):
        await settled(teacher, session["id"])
    path = f"/api/sessions/{first['id']}/evaluation"
    await teacher.patch(path, json={"criteria": [{"name": "Empathy", "score": 1}]})
    await teacher.post(f"/api/sessions/{second['id']}/evaluation/release")  # kept as is

    agreement = (await teacher.get("/api/agreement")).json()
    progress = (await teacher.get("/api/progress")).json()

    groups = agreement["rubrics"]
    assert sorted(g["sessions"] for g in groups) == [1, 1], "each session has its own rubric"
    rows = [g["criteria"][0] for g in groups]
    assert sorted((r["n"], r["kept_share"], r["mean_abs_difference"]) for r in rows) == [
        (1, 0.0, 2.0),
        (1, 1.0, 0.0),
    ]
    assert all(r["kappa"] is None and r["kappa_note"] for r in rows)
    [student] = progress["students"]
    assert (student["name"], student["key"]) == ("Sam", "name:sam")
    assert [s["metric"] for s in student["series"]] == [
        "open_question_share",
        "reflection_to_question",
        "complex_reflection_share",
    ]
    for series in student["series"]:
        assert len(series["points"]) == 2
        assert set(series["thresholds"]) == {"fair", "good"}
        assert series["svg"].startswith("<svg") and series["label"] in series["svg"]


async def test_the_evaluation_routes_are_documented(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert set(paths["/api/sessions/{id}/evaluation"]) == {"get", "post", "patch"}
    assert set(paths["/api/sessions/{id}/evaluation/release"]) == {"post"}
    assert set(paths["/api/student/sessions/{id}/evaluation"]) == {"get"}
    assert {"/api/agreement", "/api/progress"} <= set(paths)
