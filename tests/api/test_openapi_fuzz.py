"""Schemathesis against a real ``vclient serve`` on SQLite and on PostgreSQL, logged in
as a teacher: requests made from ``/openapi.json``, valid and invalid, never get a 500,
and every answer has a documented status, content type and shape (every 4xx is
``{"error": {"code", "message", "fields"?}}``).

Bounded: ``EXAMPLES`` requests per database spread over every operation, derandomized
so CI sees the same ones each run (~10 s per database here); raise it locally to
search harder. The probe's specific findings have their own tests
(``test_hostile_input.py``): at this size the fuzzer is a broad net, not a proof."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.api.conftest import profile_body, rubric_body
from tests.support.servers import run_cli, running_server

pytestmark = pytest.mark.slow

EXAMPLES = 150
EMAIL = "fuzz@school.example"
PASSWORD = "fuzz-teacher-password"
CHECKS = [
    not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


def _seed(http: httpx.Client) -> dict[str, str]:
    """A profile, a rubric, a session and a case file of the teacher's, so that half the generated
    ``{id}``s reach a real object instead of a 404."""
    profile = http.post("/api/profiles", json=profile_body()).json()["id"]
    rubric = http.post("/api/rubrics", json=rubric_body()).json()["id"]
    session = http.post(
        "/api/sessions",
        json={
            "profile_id": profile,
            "rubric_id": rubric,
            "student_name": "Sam",
            "time_limit_seconds": 600,
            "token_budget": 5000,
        },
    ).json()["id"]
    case_file = http.post(
        f"/api/profiles/{profile}/files", files={"file": ("letter.pdf", b"%PDF-1.7 fuzz")}
    ).json()["id"]
    return {"profiles": profile, "rubrics": rubric, "sessions": session, "files": case_file}


def _aim_at_seeded(case: Any, seeded: dict[str, str]) -> None:
    path_parameters = case.path_parameters or {}
    raw = path_parameters.get("id")
    try:
        generated = uuid.UUID(str(raw))
    except ValueError:
        return  # a malformed id stays: it must be a 404
    if generated.int % 2:
        # /api/student/sessions/{id}/... is a session too (the teacher's cookie gets 401).
        parts = case.path.split("/")
        kind = parts[3] if parts[2] == "student" else parts[2]
        path_parameters["id"] = seeded.get(kind, raw)  # nothing seeded: stays a 404


def test_every_operation_keeps_its_documented_shape(tmp_path: Path, database_url: str) -> None:
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": "",
        "DATA_DIR": str(tmp_path / "var"),
        "SECRET_KEY": "fuzz-secret-key-not-for-production",
        "LLM_PROVIDER": "scripted",
    }
    run_cli(["db", "upgrade"], env, tmp_path)
    run_cli(
        ["create-user", "--email", EMAIL, "--name", "Fuzz", "--password", PASSWORD], env, tmp_path
    )
    with running_server(env, tmp_path) as server, httpx.Client(base_url=server.base_url) as http:
        login = http.post("/api/auth/login", json={"email": EMAIL, "password": PASSWORD})
        assert login.status_code == 200, login.text
        cookies = dict(http.cookies)
        seeded = _seed(http)
        # Logout revokes the fuzzer's cookie on the server, which would make every later
        # call a 401: it has tests of its own (test_auth.py, test_revocation.py).
        schema = schemathesis.openapi.from_url(server.base_url + "/openapi.json").exclude(
            path="/api/auth/logout"
        )
        cases = st.one_of(
            schema.as_strategy(GenerationMode.POSITIVE),
            schema.as_strategy(GenerationMode.NEGATIVE),
        )

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        @given(case=cases)
        def request_matches_schema(case: Any) -> None:
            _aim_at_seeded(case, seeded)
            # Cookies per call: no answer's Set-Cookie changes the fuzzer's login.
            case.call_and_validate(base_url=server.base_url, cookies=cookies, checks=CHECKS)

        request_matches_schema()
