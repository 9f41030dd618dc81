"""The same API served by a real ``vclient serve`` process (uvicorn), SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.servers import run_cli, running_server

pytestmark = pytest.mark.slow


def test_cli_seed_login_and_join_over_real_http(tmp_path: Path, database_url: str) -> None:
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": "",
        "DATA_DIR": str(tmp_path / "var"),
        "SECRET_KEY": "",
        "LLM_PROVIDER": "scripted",
    }
    run_cli(["db", "upgrade"], env, tmp_path)
    seeded = run_cli(["demo"], env, tmp_path).stdout
    assert "teacher@example.org" in seeded
    join_path = seeded.split("student link:", 1)[1].split()[0].removeprefix("http://127.0.0.1:8000")
    again = run_cli(["demo"], env, tmp_path).stdout
    assert "nothing seeded" in again
    # A generated secret key was stored with owner-only permissions.
    key_file = tmp_path / "var" / "secret_key"
    assert key_file.stat().st_mode & 0o077 == 0

    with running_server(env, tmp_path) as server, httpx.Client(base_url=server.base_url) as http:
        # What start-up made is out of the collector's full passes (server.heap).
        assert "start-up objects out of the garbage collector" in server.log()
        assert "a full garbage collection every 100 middle-generation passes" in server.log()
        login = http.post(
            "/api/auth/login",
            json={"email": "teacher@example.org", "password": "demo-teacher-password"},
        )
        assert login.status_code == 200
        sessions = http.get("/api/sessions").json()
        assert sessions["total"] == 1
        assert http.post(f"/api/sessions/{sessions['items'][0]['id']}/start").status_code == 200
        with httpx.Client(base_url=server.base_url) as student:
            joined = student.get(join_path)
            assert joined.status_code == 303
            me = student.get(f"/api/student/sessions/{sessions['items'][0]['id']}")
            assert me.json()["status"] == "active"
        created = run_cli(
            [
                "create-user",
                "--email",
                "b@x.example",
                "--name",
                "B",
                "--password",
                "long-enough-pw",
            ],
            env,
            tmp_path,
        )
        assert "created teacher" in created.stdout
        other = httpx.post(
            server.base_url + "/api/auth/login",
            json={"email": "b@x.example", "password": "long-enough-pw"},
        )
        assert other.status_code == 200
        assert (
            httpx.get(server.base_url + "/api/sessions", cookies=other.cookies).json()["total"] == 0
        )
