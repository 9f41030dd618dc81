"""A deployment for integration tests: real ``vclient serve`` processes sharing one
database (and, for the Redis flavour, one Redis), a teacher, a student and a session."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from tests.support.servers import ServerProcess, run_cli, running_server

TEACHER_EMAIL = "teacher@school.example"
TEACHER_PASSWORD = "integration-password"
# Waiting for an event on a socket: generous for a loaded CI machine, never a sleep.
EVENT_TIMEOUT = 15.0


@dataclass
class World:
    servers: list[ServerProcess]
    env: dict[str, str]
    cwd: Path
    teacher_cookies: httpx.Cookies = field(default_factory=httpx.Cookies)

    def http(self, index: int = 0) -> httpx.Client:
        return httpx.Client(base_url=self.servers[index].base_url, cookies=self.teacher_cookies)

    def new_session(self, **overrides: Any) -> tuple[str, httpx.Cookies]:
        """Create and start a session; return its id and the student's cookies."""
        with self.http() as http:
            profile = http.post(
                "/api/profiles",
                json={
                    "name": "Sam Rivera",
                    "communication_style": "guarded",
                    "hidden_facts": ["Lost their job last month."],
                    "opening_line": "Hi. I'm not sure where to start.",
                },
            ).json()
            rubric = http.post(
                "/api/rubrics",
                json={
                    "name": "R",
                    "criteria": [
                        {
                            "name": "Empathy",
                            "levels": [
                                {"score": 1, "descriptor": "low"},
                                {"score": 2, "descriptor": "high"},
                            ],
                        }
                    ],
                },
            ).json()
            body = {
                "profile_id": profile["id"],
                "rubric_id": rubric["id"],
                "student_name": "Kim",
                "time_limit_seconds": 600,
                "token_budget": 20_000,
                **overrides,
            }
            created = http.post("/api/sessions", json=body)
            assert created.status_code == 201, created.text
            session = created.json()
            assert http.post(f"/api/sessions/{session['id']}/start").status_code == 200
        with httpx.Client() as student:
            assert student.get(session["join_url"]).status_code == 303
            return session["id"], student.cookies

    def ws_url(self, session_id: str, index: int = 0, after: int | None = None) -> str:
        url = f"{self.servers[index].ws_url}/ws/sessions/{session_id}"
        return url if after is None else f"{url}?after={after}"


def cookie_header(cookies: httpx.Cookies) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


class Socket:
    """A real WebSocket client (the ``websockets`` library) with typed helpers."""

    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        self.events: list[dict[str, Any]] = []

    async def send(self, **frame: Any) -> None:
        await self.conn.send(json.dumps(frame))

    async def recv(self, within: float = EVENT_TIMEOUT) -> dict[str, Any]:
        async with asyncio.timeout(within):
            event: dict[str, Any] = json.loads(await self.conn.recv())
        self.events.append(event)
        return event

    async def until(
        self, predicate: Callable[[dict[str, Any]], bool], within: float = EVENT_TIMEOUT
    ) -> dict[str, Any]:
        async with asyncio.timeout(within):
            while True:
                event = await self.recv(within)
                if predicate(event):
                    return event

    def seqs(self) -> list[int]:
        return [e["seq"] for e in self.events if "seq" in e and e.get("type") != "welcome"]

    def sequenced(self) -> list[dict[str, Any]]:
        return [e for e in self.events if "seq" in e and e.get("type") != "welcome"]


def open_socket(url: str, cookies: httpx.Cookies, origin: str | None, **kwargs: Any) -> Any:
    headers = {"Cookie": cookie_header(cookies)}
    if origin is not None:
        headers["Origin"] = origin
    return connect(url, additional_headers=headers, open_timeout=10, **kwargs)


def server_origin(world: World, index: int = 0) -> str:
    return world.servers[index].base_url


@contextmanager
def make_world(
    tmp_path: Path, database_url: str, redis_url: str | None, workers: int, **env: str
) -> Iterator[World]:
    base_env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url or "",
        "DATA_DIR": str(tmp_path / "var"),
        "SECRET_KEY": "integration-" + uuid.uuid4().hex,
        "LLM_PROVIDER": "scripted",
        "SCRIPTED_TOKENS_PER_SECOND": "40",
        **env,
    }
    run_cli(["db", "upgrade"], base_env, tmp_path)
    run_cli(
        ["create-user", "--email", TEACHER_EMAIL, "--name", "T", "--password", TEACHER_PASSWORD],
        base_env,
        tmp_path,
    )
    with ExitStack() as stack:
        servers = [stack.enter_context(running_server(base_env, tmp_path)) for _ in range(workers)]
        world = World(servers, base_env, tmp_path)
        with world.http() as http:
            login = http.post(
                "/api/auth/login", json={"email": TEACHER_EMAIL, "password": TEACHER_PASSWORD}
            )
            assert login.status_code == 200, login.text
            world.teacher_cookies = login.cookies
        yield world
