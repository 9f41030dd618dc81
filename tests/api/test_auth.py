"""Login, logout, throttling, join links and student cookies, cross-site protection."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from tests.api.conftest import PASSWORD, ClientFactory, NewTeacher, make_session


async def test_login_me_logout(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher(email="Ada@School.Example")
    me = await teacher.get("/api/me")
    assert me.status_code == 200
    assert me.json()["email"] == "ada@school.example"
    assert me.json()["limits"] == {
        "time_limit_seconds_min": 300,
        "time_limit_seconds_max": 10_800,
        "token_budget_min": 1_000,
        "token_budget_max": 200_000,
    }
    cookie = teacher.cookies.get("vc_auth")
    assert cookie and "ada" not in cookie  # signed id, not the email
    assert (await teacher.post("/api/auth/logout")).status_code == 200
    assert (await teacher.get("/api/me")).status_code == 401


async def test_login_cookie_flags(new_teacher: NewTeacher, make_client: ClientFactory) -> None:
    await new_teacher(email="flags@school.example")
    response = await make_client().post(
        "/api/auth/login", json={"email": "flags@school.example", "password": PASSWORD}
    )
    header = response.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=lax" in header and "path=/" in header


async def test_tampered_cookie_is_rejected(
    new_teacher: NewTeacher, client: httpx.AsyncClient
) -> None:
    teacher = await new_teacher()
    token = teacher.cookies["vc_auth"]
    head, _, signature = token.rpartition(".")
    # The first character of the signature: the last one carries padding bits that may
    # decode to the same signature when changed.
    forged = f"{head}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"
    client.cookies.set("vc_auth", forged)
    assert (await client.get("/api/me")).status_code == 401


async def test_wrong_password_is_401_and_throttled_per_email(
    new_teacher: NewTeacher, make_client: ClientFactory
) -> None:
    await new_teacher(email="victim@school.example")
    attacker = make_client("10.0.0.1")
    for _ in range(5):
        response = await attacker.post(
            "/api/auth/login", json={"email": "victim@school.example", "password": "guess"}
        )
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_credentials"
    # Throttled now, even from another address and with the right password.
    other = make_client("10.0.0.2")
    blocked = await other.post(
        "/api/auth/login", json={"email": "victim@school.example", "password": PASSWORD}
    )
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "rate_limited"
    assert 0 < int(blocked.headers["retry-after"]) <= 900


async def test_throttled_per_address(new_teacher: NewTeacher, make_client: ClientFactory) -> None:
    await new_teacher(email="someone@school.example")
    sprayer = make_client("10.0.0.9")
    for n in range(20):
        response = await sprayer.post(
            "/api/auth/login", json={"email": f"u{n}@school.example", "password": "x"}
        )
        assert response.status_code == 401
    blocked = await sprayer.post(
        "/api/auth/login", json={"email": "someone@school.example", "password": PASSWORD}
    )
    assert blocked.status_code == 429
    elsewhere = make_client("10.0.0.10")
    ok = await elsewhere.post(
        "/api/auth/login", json={"email": "someone@school.example", "password": PASSWORD}
    )
    assert ok.status_code == 200


async def test_unknown_email_answers_like_wrong_password(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/auth/login", json={"email": "nobody@school.example", "password": "whatever"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Wrong email or password."


async def _join(client: httpx.AsyncClient, join_url: str) -> httpx.Response:
    return await client.get(join_url.removeprefix("http://testserver"))


async def test_join_link_scopes_student_to_one_session(
    new_teacher: NewTeacher, make_client: ClientFactory
) -> None:
    teacher = await new_teacher()
    first = await make_session(teacher)
    second = await make_session(teacher)
    student = make_client()
    joined = await _join(student, first["join_url"])
    assert joined.status_code == 303
    assert joined.headers["location"] == f"/s/{first['id']}"
    assert "httponly" in joined.headers["set-cookie"].lower()

    mine = await student.get(f"/api/student/sessions/{first['id']}")
    assert mine.status_code == 200
    body = mine.json()
    assert body["client_name"] == "Alex Doe" and body["seconds_left"] == 600
    assert "hidden_facts" not in mine.text and "medication" not in mine.text
    # The same cookie opens nothing else: not another session, not the teacher API.
    assert (await student.get(f"/api/student/sessions/{second['id']}")).status_code == 401
    assert (await student.get(f"/api/sessions/{first['id']}")).status_code == 401
    assert (await student.get("/api/profiles")).status_code == 401


async def test_regenerated_link_invalidates_old_link_and_cookie(
    new_teacher: NewTeacher, make_client: ClientFactory
) -> None:
    teacher = await new_teacher()
    session = await make_session(teacher)
    student = make_client()
    assert (await _join(student, session["join_url"])).status_code == 303
    renewed = await teacher.post(f"/api/sessions/{session['id']}/join-link")
    assert renewed.status_code == 200
    new_url = renewed.json()["join_url"]
    assert new_url != session["join_url"]
    assert (await _join(make_client(), session["join_url"])).status_code == 404
    revoked = await student.get(f"/api/student/sessions/{session['id']}")
    assert revoked.status_code == 403
    assert revoked.json()["error"]["code"] == "link_revoked"
    assert (await _join(student, new_url)).status_code == 303
    assert (await student.get(f"/api/student/sessions/{session['id']}")).status_code == 200


async def test_join_link_invalid_after_session_ends(
    new_teacher: NewTeacher, make_client: ClientFactory
) -> None:
    teacher = await new_teacher()
    session = await make_session(teacher)
    await teacher.post(f"/api/sessions/{session['id']}/end")
    assert (await _join(make_client(), session["join_url"])).status_code == 404
    forged = session["join_url"][:-3] + "abc"
    assert (await _join(make_client(), forged)).status_code == 404


async def test_cross_site_writes_are_refused(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    evil = await teacher.post(
        "/api/profiles", json={"name": "x"}, headers={"origin": "https://evil.example"}
    )
    assert evil.status_code == 403
    assert evil.json()["error"]["code"] == "forbidden_origin"
    cross = await teacher.post(
        "/api/profiles", json={"name": "x"}, headers={"sec-fetch-site": "cross-site"}
    )
    assert cross.status_code == 403
    same = await teacher.post(
        "/api/profiles", json={"name": "x"}, headers={"origin": "http://testserver"}
    )
    assert same.status_code == 201
    assert len((await teacher.get("/api/profiles")).json()["items"]) == 1


async def test_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_health_readiness_and_openapi(app: Starlette, client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"
    spec = (await client.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    create = spec["paths"]["/api/sessions"]["post"]
    ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert {"profile_id", "time_limit_seconds", "token_budget"} <= set(schema["properties"])
    assert "422" in create["responses"]


async def test_unknown_route_is_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
