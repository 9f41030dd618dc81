"""The admin API on SQLite and PostgreSQL: only admins list teachers and set their caps
(a teacher gets 403, nobody logged in 401), the overview holds every teacher with this
month's tokens and cost and the cap that applies, and bad caps get 422 in the JSON error
shape naming the field."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from server.settings import Settings
from storage.repos import usage as usage_repo
from tests.api.conftest import NewTeacher, make_session, state_of
from tests.support.settings import make_settings

SITE_TOKEN_CAP = 50_000


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url, teacher_monthly_token_cap=SITE_TOKEN_CAP)


async def me(client: httpx.AsyncClient) -> uuid.UUID:
    return uuid.UUID((await client.get("/api/me")).json()["id"])


def caps_path(teacher_id: uuid.UUID | str) -> str:
    return f"/api/admin/teachers/{teacher_id}/caps"


async def row_of(admin: httpx.AsyncClient, teacher_id: uuid.UUID) -> dict[str, Any]:
    listing = await admin.get("/api/admin/teachers")
    assert listing.status_code == 200, listing.text
    rows: list[dict[str, Any]] = listing.json()["items"]
    return next(row for row in rows if row["id"] == str(teacher_id))


async def test_only_admins_see_and_change_caps(
    new_teacher: NewTeacher, client: httpx.AsyncClient
) -> None:
    teacher = await new_teacher()
    teacher_id = await me(teacher)
    body = {"monthly_token_cap": 1, "monthly_cost_micros_cap": None}
    for response in (
        await teacher.get("/api/admin/teachers"),
        await teacher.put(caps_path(teacher_id), json=body),
    ):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
    for response in (
        await client.get("/api/admin/teachers"),
        await client.put(caps_path(teacher_id), json=body),
    ):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
    admin = await new_teacher(role="admin")
    assert (await row_of(admin, teacher_id))["monthly_token_cap"] is None  # unchanged


async def test_admin_lists_every_teacher_with_usage_cost_and_caps(
    app: Starlette, new_teacher: NewTeacher
) -> None:
    admin = await new_teacher(email="boss@school.example", role="admin")
    busy = await new_teacher(email="busy@school.example")
    idle = await new_teacher(email="idle@school.example")
    busy_id, idle_id = await me(busy), await me(idle)
    session = await make_session(busy)
    async with state_of(app).db.session() as db:
        for micros in (250_000, None):
            await usage_repo.record_call(
                db,
                busy_id,
                session_id=uuid.UUID(session["id"]),
                provider="anthropic",
                model="claude-sonnet-4-5",
                input_tokens=300,
                output_tokens=100,
                duration_ms=5,
                outcome="ok",
                cost_micros=micros,
                currency="USD",
            )
    listing = (await admin.get("/api/admin/teachers")).json()
    assert [row["email"] for row in listing["items"]] == [
        "boss@school.example",
        "busy@school.example",
        "idle@school.example",
    ]
    assert listing["default_token_cap"] == SITE_TOKEN_CAP
    assert listing["cap_currency"] == "USD"  # no catalog: the usage rows' default
    assert listing["month_start"] < listing["renews_at"]
    busy_row = next(row for row in listing["items"] if row["id"] == str(busy_id))
    assert busy_row["role"] == "teacher"
    assert (busy_row["calls"], busy_row["total_tokens"]) == (2, 800)
    assert busy_row["cost_micros"] == {"USD": 250_000}
    assert (busy_row["unpriced_calls"], busy_row["cost_complete"]) == (1, False)
    assert busy_row["monthly_token_cap"] is None
    assert busy_row["effective_token_cap"] == SITE_TOKEN_CAP
    assert not busy_row["cap_reached"]
    idle_row = next(row for row in listing["items"] if row["id"] == str(idle_id))
    assert (idle_row["calls"], idle_row["cost_micros"], idle_row["cost_complete"]) == (0, {}, True)

    # A money cap of 0.25 USD: met by what busy spent, so their next session is refused.
    changed = await admin.put(
        caps_path(busy_id), json={"monthly_token_cap": 100_000, "monthly_cost_micros_cap": 250_000}
    )
    assert changed.status_code == 200, changed.text
    out = changed.json()
    assert (out["monthly_token_cap"], out["effective_token_cap"]) == (100_000, 100_000)
    assert (out["monthly_cost_micros_cap"], out["cap_reached"]) == (250_000, True)
    refused = await busy.post(
        "/api/sessions",
        json={
            "profile_id": session["profile_id"],
            "rubric_id": session["rubric_id"],
            "student_name": "Next",
            "time_limit_seconds": 600,
            "token_budget": 5000,
        },
    )
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "monthly_cap_reached"
    month = (await busy.get("/api/usage")).json()["month"]
    assert (month["cap"], month["cost_micros_cap"], month["cap_reached"]) == (
        100_000,
        250_000,
        True,
    )
    # Cleared: the site's token cap applies again and there is no money cap.
    cleared = await admin.put(
        caps_path(busy_id), json={"monthly_token_cap": None, "monthly_cost_micros_cap": None}
    )
    assert cleared.json()["effective_token_cap"] == SITE_TOKEN_CAP
    assert not cleared.json()["cap_reached"]
    await make_session(busy)  # allowed again
    # An admin is a teacher too, and may cap themself.
    admin_id = await me(admin)
    mine = await admin.put(
        caps_path(admin_id), json={"monthly_token_cap": 0, "monthly_cost_micros_cap": None}
    )
    assert mine.status_code == 200 and mine.json()["cap_reached"]


BAD_CAPS: list[tuple[dict[str, Any], set[str]]] = [
    ({"monthly_token_cap": -1, "monthly_cost_micros_cap": None}, {"monthly_token_cap"}),
    ({"monthly_token_cap": None, "monthly_cost_micros_cap": 1.5}, {"monthly_cost_micros_cap"}),
    ({"monthly_token_cap": "100", "monthly_cost_micros_cap": None}, {"monthly_token_cap"}),
    ({"monthly_token_cap": True, "monthly_cost_micros_cap": None}, {"monthly_token_cap"}),
    ({"monthly_token_cap": 10**15 + 1, "monthly_cost_micros_cap": 0}, {"monthly_token_cap"}),
    ({"monthly_token_cap": 5}, {"monthly_cost_micros_cap"}),  # PUT: both, null to clear
    ({"monthly_token_cap": None, "monthly_cost_micros_cap": None, "cap": 1}, {"cap"}),
]


async def test_bad_caps_are_422_naming_the_field(new_teacher: NewTeacher) -> None:
    admin = await new_teacher(role="admin")
    teacher_id = await me(await new_teacher())
    for body, fields in BAD_CAPS:
        response = await admin.put(caps_path(teacher_id), json=body)
        assert response.status_code == 422, body
        error = response.json()["error"]
        assert error["code"] == "validation_failed", body
        assert set(error["fields"]) == fields, body
    assert (await row_of(admin, teacher_id))["monthly_token_cap"] is None


async def test_unknown_teachers_and_broken_bodies(new_teacher: NewTeacher) -> None:
    admin = await new_teacher(role="admin")
    body = {"monthly_token_cap": 1, "monthly_cost_micros_cap": 1}
    for target in (uuid.uuid4(), "not-a-uuid"):
        missing = await admin.put(caps_path(target), json=body)
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
    teacher_id = await me(await new_teacher())
    broken = await admin.put(
        caps_path(teacher_id), content=b"{", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "bad_json"
