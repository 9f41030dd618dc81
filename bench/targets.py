"""What the load driver connects to: the bare baseline (made-up session ids) or the
product (sessions made through its HTTP API, exactly as ``tests/support/world.py`` does:
a logged-in teacher creates a profile, a rubric and sessions, starts them, and the student
joins by the link; observers use the teacher's cookie)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import httpx

__all__ = ["ROLE_HEADER", "BaselineTarget", "BenchSession", "ProductTarget", "Seat", "Target"]

#: Session setup calls in flight at once: enough to be quick, few enough not to look like
#: load on the server before the measurement starts.
SETUP_CONCURRENCY = 8
#: Generous for a server that is being pushed past its capacity.
HTTP_TIMEOUT_S = 60.0
#: A session outlives any sweep step by far (the server's SESSION_MAX_SECONDS is raised).
SESSION_SECONDS = 3_600
#: A step makes ~10 replies a session, each ~1-3 k tokens with the history: far below this.
SESSION_TOKENS = 5_000_000

Role = Literal["student", "teacher"]
#: The baseline has no auth: this header tells it who a socket is, for ``presence``.
ROLE_HEADER = "X-Bench-Role"


@dataclass(frozen=True, slots=True)
class Seat:
    """One socket to open: where, with which headers, as whom."""

    url: str
    headers: dict[str, str]
    role: Role


@dataclass(frozen=True, slots=True)
class BenchSession:
    id: str
    student: Seat
    observer: Seat


class Target(Protocol):
    kind: str

    async def open_sessions(self, count: int) -> list[BenchSession]:
        """``count`` sessions ready for a student to speak. Raises on a setup failure."""
        ...

    async def end_sessions(self, sessions: list[BenchSession]) -> None: ...

    async def aclose(self) -> None: ...


def _ws_base(base_url: str) -> str:
    return "ws" + base_url.removeprefix("http")


class BaselineTarget:
    kind = "baseline"

    def __init__(self, base_url: str) -> None:
        self._ws = _ws_base(base_url)

    async def open_sessions(self, count: int) -> list[BenchSession]:
        sessions = []
        for _ in range(count):
            url = f"{self._ws}/ws/sessions/{uuid.uuid4()}"
            student = Seat(url, {ROLE_HEADER: "student"}, "student")
            observer = Seat(url, {ROLE_HEADER: "teacher"}, "teacher")
            sessions.append(BenchSession(url, student, observer))
        return sessions

    async def end_sessions(self, sessions: list[BenchSession]) -> None:
        return None  # a room disappears with its last socket

    async def aclose(self) -> None:
        return None


class ProductTarget:
    kind = "product"

    def __init__(self, base_url: str, email: str, password: str) -> None:
        self._base = base_url
        self._ws = _ws_base(base_url)
        self._email = email
        self._password = password
        self._http = httpx.AsyncClient(base_url=base_url, timeout=HTTP_TIMEOUT_S)
        self._gate = asyncio.Semaphore(SETUP_CONCURRENCY)
        self._library: tuple[str, str] | None = None

    async def _login(self) -> tuple[str, str]:
        """Log in (once) and create the profile and rubric every session uses."""
        if self._library is not None:
            return self._library
        login = await self._http.post(
            "/api/auth/login", json={"email": self._email, "password": self._password}
        )
        _check(login, 200)
        self._http.cookies = login.cookies
        profile = await self._http.post(
            "/api/profiles",
            json={
                "name": "Sam Rivera",
                "communication_style": "guarded",
                "hidden_facts": ["Lost their job last month."],
                "opening_line": "Hi. I'm not sure where to start.",
            },
        )
        rubric = await self._http.post(
            "/api/rubrics",
            json={
                "name": "Bench",
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
        )
        self._library = (_check(profile, 201)["id"], _check(rubric, 201)["id"])
        return self._library

    async def open_sessions(self, count: int) -> list[BenchSession]:
        profile_id, rubric_id = await self._login()
        return list(
            await asyncio.gather(*(self._open(profile_id, rubric_id) for _ in range(count)))
        )

    async def _open(self, profile_id: str, rubric_id: str) -> BenchSession:
        async with self._gate:
            created = await self._http.post(
                "/api/sessions",
                json={
                    "profile_id": profile_id,
                    "rubric_id": rubric_id,
                    "student_name": "Kim",
                    "time_limit_seconds": SESSION_SECONDS,
                    "token_budget": SESSION_TOKENS,
                },
            )
            session = _check(created, 201)
            _check(await self._http.post(f"/api/sessions/{session['id']}/start"), 200)
            async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S) as student:
                joined = await student.get(session["join_url"])
                _check(joined, 303)
                student_cookies = _cookie_header(student.cookies)
        url = f"{self._ws}/ws/sessions/{session['id']}"
        teacher_cookies = _cookie_header(self._http.cookies)
        return BenchSession(
            session["id"],
            Seat(url, {"Cookie": student_cookies, "Origin": self._base}, "student"),
            Seat(url, {"Cookie": teacher_cookies, "Origin": self._base}, "teacher"),
        )

    async def end_sessions(self, sessions: list[BenchSession]) -> None:
        """End them (so the watchdog and flusher stop looking); failures are ignored."""

        async def end(session: BenchSession) -> None:
            async with self._gate:
                with contextlib.suppress(httpx.HTTPError):
                    await self._http.post(f"/api/sessions/{session.id}/end")

        await asyncio.gather(*(end(s) for s in sessions))

    async def aclose(self) -> None:
        await self._http.aclose()


def _cookie_header(cookies: httpx.Cookies) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def _check(response: httpx.Response, status: int) -> Any:
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: "
            f"{response.status_code} {response.text[:300]}"
        )
    return response.json() if status != 303 else None
