"""Client profiles and rubrics: CRUD, validation messages, 409 protection, isolation."""

from __future__ import annotations

import uuid

import httpx

from tests.api.conftest import NewTeacher, make_session, profile_body, rubric_body


async def test_profile_crud(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    created = await teacher.post("/api/profiles", json=profile_body())
    assert created.status_code == 201
    profile = created.json()
    # A plain string is a fact with no topics; the answer is always the structured form.
    assert profile["hidden_facts"] == [
        {
            "fact": "Was reported for a medication error.",
            "disclosure": "",
            "topics": [],
            "trust_needed": 30,
        }
    ]
    assert profile["difficulty"] == 4

    listed = (await teacher.get("/api/profiles")).json()["items"]
    assert [p["id"] for p in listed] == [profile["id"]]

    updated = await teacher.put(
        f"/api/profiles/{profile['id']}", json=profile_body(name="Alex D.", difficulty=2)
    )
    assert updated.status_code == 200
    assert updated.json()["name"] == "Alex D."
    fetched = (await teacher.get(f"/api/profiles/{profile['id']}")).json()
    assert fetched["difficulty"] == 2

    deleted = await teacher.delete(f"/api/profiles/{profile['id']}")
    assert deleted.status_code == 204
    gone = await teacher.get(f"/api/profiles/{profile['id']}")
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "not_found"


async def test_profile_validation_messages(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    response = await teacher.post(
        "/api/profiles",
        json=profile_body(name="  ", difficulty=7, age=-1, hidden_facts=[""], surprise=1),
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    fields = error["fields"]
    assert "at least 1 character" in fields["name"]
    assert "less than or equal to 5" in fields["difficulty"]
    assert "greater than or equal to 0" in fields["age"]
    assert "hidden_facts.0" in fields
    assert "surprise" in fields


async def test_bad_json_and_oversize_body(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    broken = await teacher.post(
        "/api/profiles", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400
    assert broken.json()["error"]["code"] == "bad_json"
    huge = profile_body(background="x" * 300_000)
    too_big = await teacher.post("/api/profiles", json=huge)
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "payload_too_large"
    # Nothing was stored by either.
    assert (await teacher.get("/api/profiles")).json()["items"] == []


async def test_rubric_crud_and_validation(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    created = await teacher.post("/api/rubrics", json=rubric_body())
    assert created.status_code == 201
    rubric = created.json()
    levels = rubric["criteria"][0]["levels"]
    assert [level["score"] for level in levels] == [3, 1]  # highest first

    criteria = rubric_body()["criteria"] + [
        {"name": "Structure", "weight": 1, "levels": [{"score": 2, "descriptor": "clear"}]}
    ]
    updated = await teacher.put(
        f"/api/rubrics/{rubric['id']}", json=rubric_body(name="Basics 2", criteria=criteria)
    )
    assert updated.status_code == 200
    assert [c["name"] for c in updated.json()["criteria"]] == ["Empathy", "Structure"]

    invalid = await teacher.post(
        "/api/rubrics",
        json=rubric_body(
            criteria=[
                {
                    "name": "Dup",
                    "weight": 0,
                    "levels": [{"score": 1, "descriptor": "a"}, {"score": 1, "descriptor": "b"}],
                }
            ]
        ),
    )
    assert invalid.status_code == 422
    fields = invalid.json()["error"]["fields"]
    assert fields["criteria.0.levels"] == "each level needs a different score"
    assert "greater than 0" in fields["criteria.0.weight"]

    no_criteria = await teacher.post("/api/rubrics", json=rubric_body(criteria=[]))
    assert no_criteria.status_code == 422
    assert "criteria" in no_criteria.json()["error"]["fields"]

    assert (await teacher.delete(f"/api/rubrics/{rubric['id']}")).status_code == 204
    assert (await teacher.get(f"/api/rubrics/{rubric['id']}")).status_code == 404


async def test_delete_in_use_answers_409_with_sessions(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    session = await make_session(teacher)
    for kind in ("profiles", "rubrics"):
        key = "profile_id" if kind == "profiles" else "rubric_id"
        response = await teacher.delete(f"/api/{kind}/{session[key]}")
        assert response.status_code == 409
        error = response.json()["error"]
        assert error["code"] == "in_use"
        assert error["sessions"] == [session["id"]]
        assert "used by 1 session" in error["message"]
        assert (await teacher.get(f"/api/{kind}/{session[key]}")).status_code == 200


async def test_teacher_isolation(new_teacher: NewTeacher) -> None:
    alice = await new_teacher()
    bob = await new_teacher()
    session = await make_session(alice)
    profile_id, rubric_id, session_id = session["profile_id"], session["rubric_id"], session["id"]

    assert (await bob.get("/api/profiles")).json()["items"] == []
    assert (await bob.get("/api/rubrics")).json()["items"] == []
    assert (await bob.get("/api/sessions")).json()["total"] == 0
    attempts = [
        bob.get(f"/api/profiles/{profile_id}"),
        bob.put(f"/api/profiles/{profile_id}", json=profile_body()),
        bob.delete(f"/api/profiles/{profile_id}"),
        bob.get(f"/api/rubrics/{rubric_id}"),
        bob.put(f"/api/rubrics/{rubric_id}", json=rubric_body()),
        bob.delete(f"/api/rubrics/{rubric_id}"),
        bob.get(f"/api/sessions/{session_id}"),
        bob.post(f"/api/sessions/{session_id}/start"),
        bob.post(f"/api/sessions/{session_id}/end"),
        bob.post(f"/api/sessions/{session_id}/join-link"),
        bob.get(f"/api/sessions/{session_id}/events"),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 404, response.request.url
    # Bob cannot build a session on Alice's profile and rubric either.
    response = await bob.post(
        "/api/sessions",
        json={
            "profile_id": profile_id,
            "rubric_id": rubric_id,
            "student_name": "X",
            "time_limit_seconds": 600,
            "token_budget": 5000,
        },
    )
    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == {"profile_id", "rubric_id"}
    # And Alice's objects are untouched.
    assert (await alice.get(f"/api/profiles/{profile_id}")).json()["name"] == "Alex Doe"
    assert (await alice.get(f"/api/sessions/{session_id}")).json()["status"] == "created"


async def test_requires_login(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/api/profiles"),
        ("POST", "/api/rubrics"),
        ("GET", f"/api/sessions/{uuid.uuid4()}"),
        ("GET", "/api/me"),
    ]:
        response = await client.request(method, path, json={})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"


async def test_malformed_ids_are_not_found(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    response = await teacher.get("/api/profiles/not-a-uuid")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
