from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from server.app import create_app
from server.passwords import hash_password
from server.settings import Settings
from server.state import AppState
from storage.migrate import upgrade
from storage.repos import users as user_repo
from tests.support.settings import make_settings

PASSWORD = "correct horse battery"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    await upgrade(settings.effective_database_url)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


def state_of(app: Starlette) -> AppState:
    state = app.state.vc
    assert isinstance(state, AppState)
    return state


ClientFactory = Callable[..., httpx.AsyncClient]


@pytest.fixture
async def make_client(app: Starlette) -> AsyncIterator[ClientFactory]:
    clients: list[httpx.AsyncClient] = []

    def factory(address: str = "127.0.0.1") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 50000))
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()


@pytest.fixture
async def client(make_client: ClientFactory) -> httpx.AsyncClient:
    return make_client()


NewTeacher = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
def new_teacher(app: Starlette, make_client: ClientFactory) -> NewTeacher:
    """Create a teacher account and return a client logged in as it."""

    async def create(email: str | None = None, role: str = "teacher") -> httpx.AsyncClient:
        email = email or f"t-{uuid.uuid4().hex[:8]}@school.example"
        async with state_of(app).db.session() as db:
            await user_repo.create_user(
                db,
                email=email,
                name="Teacher",
                role=role,
                password_hash=await hash_password(PASSWORD),
            )
        client = make_client()
        response = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return client

    return create


def profile_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Alex Doe",
        "age": 29,
        "pronouns": "she/her",
        "background": "Nurse on night shifts.",
        "presenting_problem": "Burn-out.",
        "personality": "Dry humour.",
        "communication_style": "Terse.",
        "goals": "Sleep.",
        "hidden_facts": ["Was reported for a medication error."],
        "difficulty": 4,
        "opening_line": "I don't really know why I'm here.",
    }
    body.update(overrides)
    return body


def rubric_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Basics",
        "description": "",
        "criteria": [
            {
                "name": "Empathy",
                "description": "Reflective listening",
                "weight": 2,
                "levels": [
                    {"score": 1, "descriptor": "rarely"},
                    {"score": 3, "descriptor": "consistently"},
                ],
            }
        ],
    }
    body.update(overrides)
    return body


async def make_session(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    profile = (await client.post("/api/profiles", json=profile_body())).json()
    rubric = (await client.post("/api/rubrics", json=rubric_body())).json()
    body = {
        "profile_id": profile["id"],
        "rubric_id": rubric["id"],
        "student_name": "Sam",
        "time_limit_seconds": 600,
        "token_budget": 5000,
    }
    body.update(overrides)
    response = await client.post("/api/sessions", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created
