"""The model catalog over HTTP (SQLite and PostgreSQL): GET /api/models, sessions pinned
to a catalog id, a profile's default model, and start-up refusing a bad catalog."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from llm.catalog import CatalogError
from server.app import create_app
from server.settings import Settings
from storage.migrate import upgrade
from tests.api.conftest import NewTeacher, make_session, profile_body, rubric_body, state_of
from tests.support.settings import make_settings

KEY = "sk-never-shown-to-anyone"
CATALOG = """
currency = "GBP"
default = "practice"

[[models]]
id = "mistral-large"
name = "Mistral Large"
provider = "mistral"
model = "mistral-large-latest"
base_url = "https://mistral.internal.example"
api_key_env = "VC_TEST_MODELS_KEY"
context_window = 128000
max_reply_tokens = 500
input_price_per_mtok = 2.0
output_price_per_mtok = 6.0

[[models]]
id = "practice"
name = "Offline practice"
provider = "scripted"
model = "scripted"
context_window = 100000
max_reply_tokens = 400
"""


@pytest.fixture
def settings(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    path = tmp_path / "catalog.toml"
    path.write_text(CATALOG)
    monkeypatch.setenv("VC_TEST_MODELS_KEY", KEY)
    return make_settings(tmp_path, database_url, llm_catalog=str(path))


async def session_body(client: httpx.AsyncClient, **overrides: object) -> dict[str, object]:
    profile = (await client.post("/api/profiles", json=profile_body())).json()
    rubric = (await client.post("/api/rubrics", json=rubric_body())).json()
    return {
        "profile_id": profile["id"],
        "rubric_id": rubric["id"],
        "student_name": "Sam",
        "time_limit_seconds": 600,
        "token_budget": 5000,
        **overrides,
    }


async def test_teachers_see_the_catalog_without_secrets(
    new_teacher: NewTeacher, client: httpx.AsyncClient
) -> None:
    assert (await client.get("/api/models")).status_code == 401
    teacher = await new_teacher()
    response = await teacher.get("/api/models")
    assert response.status_code == 200
    assert response.json() == {
        "currency": "GBP",
        "default": "practice",
        "items": [
            {
                "id": "mistral-large",
                "name": "Mistral Large",
                "provider": "mistral",
                "context_window": 128_000,
                "max_reply_tokens": 500,
                "input_price_per_mtok": 2.0,
                "output_price_per_mtok": 6.0,
            },
            {
                "id": "practice",
                "name": "Offline practice",
                "provider": "scripted",
                "context_window": 100_000,
                "max_reply_tokens": 400,
                "input_price_per_mtok": None,
                "output_price_per_mtok": None,
            },
        ],
    }
    for secret in (KEY, "VC_TEST_MODELS_KEY", "mistral.internal", "mistral-large-latest"):
        assert secret not in response.text


async def test_a_session_is_pinned_to_a_catalog_id(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    chosen = await make_session(teacher, model="mistral-large")
    assert chosen["model"] == "mistral-large"
    default = await make_session(teacher)
    assert default["model"] == "practice", "no model asked: the catalog's default, pinned"

    body = await session_body(teacher, model="gpt-17")
    refused = await teacher.post("/api/sessions", json=body)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "validation_failed"
    assert error["fields"] == {"model": "no such model in the catalog (GET /api/models lists them)"}
    # The provider's own model name is not a catalog id either.
    body = await session_body(teacher, model="mistral-large-latest")
    assert (await teacher.post("/api/sessions", json=body)).status_code == 422


async def test_a_profile_names_the_default_model(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    bad = await teacher.post("/api/profiles", json=profile_body(default_model="nope"))
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"] == {
        "default_model": "no such model in the catalog (GET /api/models lists them)"
    }

    created = await teacher.post("/api/profiles", json=profile_body(default_model="mistral-large"))
    assert created.status_code == 201
    profile = created.json()
    assert profile["default_model"] == "mistral-large"
    assert (await teacher.get(f"/api/profiles/{profile['id']}")).json()["default_model"] == (
        "mistral-large"
    )
    rubric = (await teacher.post("/api/rubrics", json=rubric_body())).json()
    body = {
        "profile_id": profile["id"],
        "rubric_id": rubric["id"],
        "student_name": "Sam",
        "time_limit_seconds": 600,
        "token_budget": 5000,
    }
    session = (await teacher.post("/api/sessions", json=body)).json()
    assert session["model"] == "mistral-large", "the profile's default, not the catalog's"
    asked = (await teacher.post("/api/sessions", json={**body, "model": "practice"})).json()
    assert asked["model"] == "practice", "a model asked for wins over the profile's"

    cleared = await teacher.put(
        f"/api/profiles/{profile['id']}", json=profile_body(default_model=None)
    )
    assert cleared.status_code == 200 and cleared.json()["default_model"] is None
    refused = await teacher.put(
        f"/api/profiles/{profile['id']}", json=profile_body(default_model="gone")
    )
    assert refused.status_code == 422


async def test_another_teachers_profile_is_still_not_found(new_teacher: NewTeacher) -> None:
    owner, other = await new_teacher(), await new_teacher()
    body = await session_body(owner)
    refused = await other.post("/api/sessions", json=body)
    assert refused.status_code == 422
    assert set(refused.json()["error"]["fields"]) == {"profile_id", "rubric_id"}


async def test_the_app_holds_the_loaded_catalog(app: Starlette) -> None:
    catalog = state_of(app).catalog
    assert catalog is not None and catalog.ids == ("mistral-large", "practice")


async def test_without_a_catalog_the_shortcut_is_the_one_model(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "plain")
    settings.data_dir.mkdir()
    await upgrade(settings.effective_database_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        catalog = state_of(app).catalog
        assert catalog is not None
        [entry] = catalog.entries
        assert (entry.id, entry.provider, entry.max_reply_tokens) == ("scripted", "scripted", 400)
        assert not entry.priced


def test_a_bad_catalog_stops_start_up_naming_entry_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(CATALOG.replace("output_price_per_mtok = 6.0", "output_price_per_mtok = -6"))
    with pytest.raises(CatalogError) as caught:
        create_app(make_settings(tmp_path, llm_catalog=str(path)))
    message = str(caught.value)
    assert str(path) in message
    assert 'models[0].output_price_per_mtok (entry "mistral-large")' in message


def test_a_missing_key_stops_start_up_naming_the_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VC_TEST_MODELS_KEY", raising=False)
    path = tmp_path / "catalog.toml"
    path.write_text(CATALOG)
    with pytest.raises(CatalogError) as caught:
        create_app(make_settings(tmp_path, llm_catalog=str(path)))
    assert 'entry "mistral-large"' in str(caught.value)
    assert "VC_TEST_MODELS_KEY is not set" in str(caught.value)


def test_a_missing_file_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"LLM_CATALOG .*nowhere\.toml"):
        create_app(make_settings(tmp_path, llm_catalog=str(tmp_path / "nowhere.toml")))


def test_vclient_serve_refuses_a_bad_catalog_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(CATALOG.replace('provider = "scripted"', 'provider = "gemini"'))
    env = {
        **os.environ,
        "LLM_CATALOG": str(path),
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": "",
        "REDIS_URL": "",
    }
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve", "--port", "0"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f'error: LLM_CATALOG {path}: models[1].provider (entry "practice")')
