"""People: Schemathesis over ``/openapi.json`` as a logged-in teacher and as a student who
joined by the link (issue 16), against a real ``vclient serve`` on SQLite and PostgreSQL:
no 500 anywhere, and every answer has a documented status, content type and shape (every
error is ``{"error": {"code", "message", "fields"?}}``).

``tests/api/test_openapi_fuzz.py`` already runs the teacher with 150 examples per database
in the normal suite; here CI adds the student (150 examples), and ``HARDENING_FULL=1`` runs
both with 2,000 examples each (the figures in docs/reliability.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.api.test_openapi_fuzz import CHECKS, _aim_at_seeded, _seed
from tests.hardening.conftest import FULL, repetitions
from tests.support.servers import run_cli, running_server

pytestmark = pytest.mark.slow

EMAIL = "fuzz@school.example"
PASSWORD = "fuzz-teacher-password"


@pytest.mark.parametrize("caller", ["teacher", "student"] if FULL else ["student"])
def test_every_operation_keeps_its_shape_for_each_caller(
    tmp_path: Path, database_url: str, caller: str
) -> None:
    examples = repetitions(ci=150, full=2_000)
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
        assert http.post("/api/auth/login", json={"email": EMAIL, "password": PASSWORD}).is_success
        seeded = _seed(http)
        session = http.get(f"/api/sessions/{seeded['sessions']}").json()
        assert http.post(f"/api/sessions/{seeded['sessions']}/start").is_success
        cookies = dict(http.cookies)
        if caller == "student":
            with httpx.Client() as student:
                assert student.get(session["join_url"]).status_code == 303
                cookies = dict(student.cookies)
        schema = schemathesis.openapi.from_url(server.base_url + "/openapi.json").exclude(
            path="/api/auth/logout"
        )
        cases = st.one_of(
            schema.as_strategy(GenerationMode.POSITIVE),
            schema.as_strategy(GenerationMode.NEGATIVE),
        )
        statuses: dict[int, int] = {}

        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        @given(case=cases)
        def request_matches_schema(case: Any) -> None:
            _aim_at_seeded(case, seeded)
            response = case.call_and_validate(
                base_url=server.base_url, cookies=cookies, checks=CHECKS
            )
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        request_matches_schema()
    print(
        f"HARDENING schemathesis ({caller}): {sum(statuses.values())} calls, "
        f"by status {dict(sorted(statuses.items()))}; 0 server errors, 0 undocumented shapes"
    )
