"""A deployment for integration tests: real ``vclient serve`` processes sharing one
database (and, for the Redis flavour, one Redis), a teacher, a student and a session.

A test reads as a story::

    session = world.new_session()
    async with (
        world.connect(session, as_="student", worker=0) as student,
        world.connect(session, as_="teacher", worker=1) as teacher,
    ):
        await student.send(type="say", text="Hello", client_id="c-1")
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urlencode

import httpx
from websockets.asyncio.client import ClientConnection, connect

from server.passwords import hash_password
from storage.db import Database
from storage.migrate import upgrade
from storage.repos import users as user_repo
from tests.support.loops import run_in_own_loop
from tests.support.servers import ServerProcess, running_servers

TEACHER_EMAIL = "teacher@school.example"
TEACHER_PASSWORD = "integration-password"
# Waiting for an event on a socket: generous for a loaded CI machine, never a sleep.
EVENT_TIMEOUT = 15.0

Role = Literal["student", "teacher"]
# A worker of the world by its index, or a server started by the test itself.
Worker = int | ServerProcess


@dataclass(frozen=True)
class SessionHandle:
    """A started session: its id and the cookies of its student (who joined by the link)."""

    id: str
    student_cookies: httpx.Cookies


@dataclass(frozen=True)
class Handshake:
    """What a client sends to open a session's socket: the URL and the headers."""

    url: str
    headers: dict[str, str]


@dataclass
class World:
    servers: list[ServerProcess]
    env: dict[str, str]
    cwd: Path
    teacher_cookies: httpx.Cookies = field(default_factory=httpx.Cookies)

    def http(self, index: int = 0) -> httpx.Client:
        return httpx.Client(base_url=self.servers[index].base_url, cookies=self.teacher_cookies)

    def new_session(self, **overrides: Any) -> SessionHandle:
        """Create and start a session (``overrides`` go into the create body) and join it as
        its student."""
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
            return SessionHandle(session["id"], student.cookies)

    def server(self, worker: Worker) -> ServerProcess:
        return self.servers[worker] if isinstance(worker, int) else worker

    def handshake(
        self,
        session: SessionHandle,
        *,
        as_: Role,
        worker: Worker = 0,
        after: int | None = None,
        epoch: str | int | None = None,
        origin: str | None = None,
        cookies: httpx.Cookies | None = None,
    ) -> Handshake:
        """The socket request of ``session`` on ``worker``: with the cookies of ``as_`` unless
        ``cookies`` overrides them, from the worker's own origin unless ``origin`` does;
        ``after`` and ``epoch`` resume from a cursor."""
        server = self.server(worker)
        if cookies is None:
            cookies = session.student_cookies if as_ == "student" else self.teacher_cookies
        query = {
            name: value for name, value in (("after", after), ("epoch", epoch)) if value is not None
        }
        url = f"{server.ws_url}/ws/sessions/{session.id}"
        if query:
            url += "?" + urlencode(query)
        headers = {"Cookie": cookie_header(cookies), "Origin": origin or server.base_url}
        return Handshake(url, headers)

    def connect(
        self,
        session: SessionHandle,
        *,
        as_: Role,
        worker: Worker = 0,
        after: int | None = None,
        epoch: str | int | None = None,
        origin: str | None = None,
        cookies: httpx.Cookies | None = None,
        **connect_kwargs: Any,
    ) -> OpeningSocket:
        """Open ``session``'s socket (see ``handshake``): ``async with`` it for a ``Socket``
        closed at the end, or ``await`` it and close the ``Socket`` yourself.
        ``connect_kwargs`` go to ``websockets``' ``connect`` (``max_queue=None``...).

        Raises ``websockets.exceptions.InvalidStatus`` when the server refuses the handshake.
        """
        handshake = self.handshake(
            session,
            as_=as_,
            worker=worker,
            after=after,
            epoch=epoch,
            origin=origin,
            cookies=cookies,
        )
        return OpeningSocket(handshake, **connect_kwargs)

    @asynccontextmanager
    async def student_and_teacher(
        self, session: SessionHandle
    ) -> AsyncIterator[tuple[Socket, Socket]]:
        """``session``'s student and observing teacher on the first worker, each past its
        welcome."""
        async with (
            self.connect(session, as_="student") as student,
            self.connect(session, as_="teacher") as teacher,
        ):
            await student.recv()
            await teacher.recv()
            yield student, teacher


#: Event types a student's socket never receives (docs/protocol.md, "Sequencing").
OBSERVERS_ONLY = frozenset({"client.state", "direction", "reply.flagged", "reply.usage"})


def student_view(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An observer's sequenced events as the student's socket gets them."""
    return [e for e in events if e.get("type") not in OBSERVERS_ONLY]


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

    async def close(self) -> None:
        await self.conn.close()


class OpeningSocket:
    """A socket being opened: ``async with`` it (closed on the way out) or ``await`` it."""

    def __init__(self, handshake: Handshake, **connect_kwargs: Any) -> None:
        self._connect = connect(
            handshake.url, additional_headers=handshake.headers, open_timeout=10, **connect_kwargs
        )

    def __await__(self) -> Generator[Any, None, Socket]:
        return self._open().__await__()

    async def _open(self) -> Socket:
        return Socket(await self._connect)

    async def __aenter__(self) -> Socket:
        return Socket(await self._connect.__aenter__())

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._connect.__aexit__(exc_type, exc_value, traceback)


async def _prepare(database_url: str) -> None:
    """What ``vclient db upgrade`` and ``vclient create-user`` do for the world's teacher,
    done in the test's own process: a third interpreter start per world (~1 s of CPU
    importing the app, on a core the world's servers share) bought nothing the CLI's
    own tests (tests/api/test_live_server.py) do not cover. The upgrade is a no-op on a
    database already at head (``postgres_url``, ``sqlite_at_head``)."""
    await upgrade(database_url)
    db = Database(database_url)
    try:
        async with db.session() as session:
            await user_repo.create_user(
                session,
                email=TEACHER_EMAIL,
                name="T",
                role="teacher",
                password_hash=await hash_password(TEACHER_PASSWORD),
            )
    finally:
        await db.aclose()


@contextmanager
def make_world(
    tmp_path: Path, database_url: str, redis_url: str | None, workers: int, **env: str
) -> Iterator[World]:
    data_dir = tmp_path / "var"
    base_env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url or "",
        "DATA_DIR": str(data_dir),
        "SECRET_KEY": "integration-" + uuid.uuid4().hex,
        "LLM_PROVIDER": "scripted",
        "SCRIPTED_TOKENS_PER_SECOND": "40",
        **env,
    }
    data_dir.mkdir(parents=True, exist_ok=True)  # as `vclient db upgrade` made it
    run_in_own_loop(_prepare(database_url))  # some tests build a world inside their loop
    with running_servers(base_env, tmp_path, workers) as servers:
        world = World(servers, base_env, tmp_path)
        with world.http() as http:
            login = http.post(
                "/api/auth/login", json={"email": TEACHER_EMAIL, "password": TEACHER_PASSWORD}
            )
            assert login.status_code == 200, login.text
            world.teacher_cookies = login.cookies
        yield world
