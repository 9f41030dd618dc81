"""What an outside probe sent (issue 10): text SQL cannot store, deeply nested JSON,
dates and numbers at the edge of their range, and JSON booleans standing for numbers.
Each answers 4xx in the API's error shape, the same on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from server.http import MAX_JSON_DEPTH
from storage.text import NUL_MESSAGE, SURROGATE_MESSAGE
from tests.api.conftest import NewTeacher, make_session, profile_body, rubric_body

PROFILE_TEXT_FIELDS = [
    "name",
    "pronouns",
    "background",
    "presenting_problem",
    "personality",
    "communication_style",
    "goals",
    "opening_line",
]


async def _post_raw(client: httpx.AsyncClient, path: str, body: Any) -> httpx.Response:
    """``json.dumps`` escapes a lone surrogate as ``\\ud800``, as a probe would send it."""
    return await client.post(
        path, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )


def _fields(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    fields: dict[str, str] = error["fields"]
    return fields


@pytest.mark.parametrize(
    ("bad", "message"), [("\x00", NUL_MESSAGE), ("\ud800", SURROGATE_MESSAGE)], ids=["nul", "lone"]
)
async def test_profile_text_sql_cannot_store_is_422_per_field(
    new_teacher: NewTeacher, bad: str, message: str
) -> None:
    teacher = await new_teacher()
    body = profile_body(**{name: f"x{bad}y" for name in PROFILE_TEXT_FIELDS})
    body["hidden_facts"] = ["fine", f"a{bad}b"]
    fields = _fields(await _post_raw(teacher, "/api/profiles", body))
    expected = {name: message for name in [*PROFILE_TEXT_FIELDS, "hidden_facts.1"]}
    assert fields == expected
    assert message in {
        NUL_MESSAGE: "must not contain the NUL character (U+0000)",
        SURROGATE_MESSAGE: "must not contain an unpaired surrogate (U+D800 to U+DFFF)",
    }
    # Replacing a stored profile is refused the same way; nothing was stored or changed.
    stored = (await teacher.post("/api/profiles", json=profile_body())).json()
    replaced = await _post_raw(teacher, "/api/profiles", profile_body(goals=bad))
    assert _fields(replaced) == {"goals": message}
    put = await teacher.put(
        f"/api/profiles/{stored['id']}",
        content=json.dumps(profile_body(name=f"N{bad}")).encode(),
        headers={"content-type": "application/json"},
    )
    assert _fields(put) == {"name": message}
    listed = (await teacher.get("/api/profiles")).json()["items"]
    assert [p["name"] for p in listed] == ["Alex Doe"]


async def test_nul_is_reported_beside_other_problems(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    response = await teacher.post("/api/profiles", json=profile_body(name="\x00", difficulty=9))
    fields = _fields(response)
    assert fields["name"] == NUL_MESSAGE
    assert "less than or equal to 5" in fields["difficulty"]


async def test_rubric_session_and_login_text_is_checked(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    rubric = rubric_body()
    rubric["criteria"][0]["levels"][1]["descriptor"] = "ok\x00"
    rubric["criteria"][0]["description"] = "\ud800"
    fields = _fields(await _post_raw(teacher, "/api/rubrics", rubric))
    assert fields == {
        "criteria.0.levels.1.descriptor": NUL_MESSAGE,
        "criteria.0.description": SURROGATE_MESSAGE,
    }

    session = await make_session(teacher)
    again = {
        "profile_id": session["profile_id"],
        "rubric_id": session["rubric_id"],
        "student_name": "Sam\x00",
        "student_email": "sam@uni.example\x00",
        "time_limit_seconds": 600,
        "token_budget": 5000,
        "model": "\ud800",
        "instructions": "Be kind.\x00",
    }
    fields = _fields(await _post_raw(teacher, "/api/sessions", again))
    assert fields["student_name"] == NUL_MESSAGE
    assert fields["student_email"] == NUL_MESSAGE
    assert fields["model"] == SURROGATE_MESSAGE
    assert fields["instructions"] == NUL_MESSAGE
    assert (await teacher.get("/api/sessions")).json()["total"] == 1

    login = await _post_raw(teacher, "/api/auth/login", {"email": "a\x00@b.c", "password": "x"})
    assert _fields(login) == {"email": NUL_MESSAGE}
    login = await _post_raw(teacher, "/api/auth/login", {"email": "a@b.c", "password": "\ud800"})
    assert _fields(login) == {"password": SURROGATE_MESSAGE}


async def test_astral_characters_are_stored(new_teacher: NewTeacher) -> None:
    """An escaped surrogate *pair* is one character (U+1F600), not a lone surrogate."""
    teacher = await new_teacher()
    created = await teacher.post(
        "/api/profiles",
        content=b'{"name": "Alex \\ud83d\\ude00", "background": "caf\\u00e9"}',
        headers={"content-type": "application/json"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "Alex \U0001f600"
    fetched = (await teacher.get(f"/api/profiles/{created.json()['id']}")).json()
    assert (fetched["name"], fetched["background"]) == ("Alex \U0001f600", "café")


@pytest.mark.parametrize("path", ["/api/auth/login", "/api/profiles", "/api/rubrics"])
async def test_deeply_nested_json_is_bad_json(new_teacher: NewTeacher, path: str) -> None:
    teacher = await new_teacher()
    for raw in (b"[" * 100_000, b'{"name": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"):
        response = await teacher.post(
            path, content=raw, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "bad_json"
        assert f"deeper than {MAX_JSON_DEPTH} levels" in error["message"]


async def test_brackets_inside_strings_do_not_count(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    text = '[{"\\"' * 200
    created = await teacher.post("/api/profiles", json=profile_body(background=text))
    assert created.status_code == 201, created.text
    assert created.json()["background"] == text


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("to=9999-12-31", "to"),
        ("from=0001-01-01T00:00:00%2B01:00", "from"),
        ("to=9999-12-31T23:59:59-01:00", "to"),
    ],
)
async def test_transcript_export_dates_out_of_range_are_422(
    new_teacher: NewTeacher, query: str, field: str
) -> None:
    teacher = await new_teacher()
    response = await teacher.get(f"/api/transcripts.zip?{query}")
    fields = _fields(response)
    assert set(fields) == {field}
    assert "9999-12-30" in fields[field]


async def test_transcript_export_accepts_the_last_whole_day(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    response = await teacher.get("/api/transcripts.zip?from=0001-01-01&to=9999-12-30")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"


@pytest.mark.parametrize(
    "query",
    [
        "from=0001-01-01T00:00:00%2B01:00",
        "to=9999-12-31T23:59:59-01:00",
        "from=2026-01-01T00:00:00%2B14:00&to=9999-12-31T23:00:00-14:00",
    ],
)
async def test_usage_dates_out_of_range_are_422(new_teacher: NewTeacher, query: str) -> None:
    teacher = await new_teacher()
    fields = _fields(await teacher.get(f"/api/usage?{query}"))
    assert all("years 1 to 9999" in message for message in fields.values())


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("offset=99999999999999999999", "offset"),
        ("offset=9223372036854775808", "offset"),
        ("offset=1000000001", "offset"),
        ("limit=%205", "limit"),
        ("limit=1_0", "limit"),
        ("offset=-1", "offset"),
    ],
)
async def test_session_list_numbers_out_of_range_are_422(
    new_teacher: NewTeacher, query: str, field: str
) -> None:
    teacher = await new_teacher()
    assert set(_fields(await teacher.get(f"/api/sessions?{query}"))) == {field}


async def test_session_list_largest_offset_is_an_empty_page(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    page = (await teacher.get("/api/sessions?offset=1000000000")).json()
    assert (page["items"], page["offset"]) == ([], 1_000_000_000)


@pytest.mark.parametrize(
    ("field", "value"),
    [("age", False), ("age", True), ("difficulty", "3"), ("difficulty", 3.0), ("age", "29")],
)
async def test_profile_numbers_are_strict(new_teacher: NewTeacher, field: str, value: Any) -> None:
    teacher = await new_teacher()
    fields = _fields(await teacher.post("/api/profiles", json=profile_body(**{field: value})))
    assert fields == {field: "Input should be a valid integer"}


async def test_rubric_and_session_numbers_are_strict(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    rubric = rubric_body()
    rubric["criteria"][0]["levels"][0]["score"] = True
    rubric["criteria"][0]["weight"] = True
    fields = _fields(await teacher.post("/api/rubrics", json=rubric))
    assert fields == {
        "criteria.0.levels.0.score": "Input should be a valid integer",
        "criteria.0.weight": "Input should be a valid number",
    }
    # A whole number still stands for a float.
    rubric = rubric_body()
    rubric["criteria"][0]["weight"] = 2
    assert (await teacher.post("/api/rubrics", json=rubric)).status_code == 201

    session = await make_session(teacher)
    body = {
        "profile_id": session["profile_id"],
        "rubric_id": session["rubric_id"],
        "student_name": "Sam",
        "time_limit_seconds": "600",
        "token_budget": True,
    }
    fields = _fields(await teacher.post("/api/sessions", json=body))
    assert fields == {
        "time_limit_seconds": "Input should be a valid integer",
        "token_budget": "Input should be a valid integer",
    }
    extend = await teacher.post(f"/api/sessions/{session['id']}/extend", json={"add_seconds": True})
    assert _fields(extend) == {"add_seconds": "Input should be a valid integer"}
    name = await teacher.post("/api/profiles", json=profile_body(name=5))
    assert _fields(name) == {"name": "Input should be a valid string"}
