"""``/openapi.json`` against the routes: every documented path answers OPTIONS with the
methods it really takes, and the schema states the limits the routes enforce."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from llm.base import STYLES
from server.routes_sessions import PAGE_MAX
from server.settings import Settings
from tests.api.conftest import NewTeacher, make_session


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """Routing and documentation do not depend on the database: SQLite only."""
    return f"sqlite+aiosqlite:///{tmp_path / 'api.db'}"


async def _spec(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    spec: dict[str, Any] = response.json()
    return spec


def _schema(spec: dict[str, Any], ref_holder: dict[str, Any]) -> dict[str, Any]:
    name = ref_holder["$ref"].rsplit("/", 1)[1]
    schema: dict[str, Any] = spec["components"]["schemas"][name]
    return schema


async def test_options_and_405_name_every_documented_method(client: httpx.AsyncClient) -> None:
    spec = await _spec(client)
    for template, operations in spec["paths"].items():
        path = template.replace("{id}", str(uuid.uuid4()))
        documented = {method.upper() for method in operations}
        if "GET" in documented:
            documented.add("HEAD")
        expected = ", ".join(sorted(documented | {"OPTIONS"}))
        options = await client.options(path)
        assert options.status_code == 204, template
        assert options.headers["allow"] == expected, template
        unused = next(m for m in ("PATCH", "PUT", "DELETE", "POST") if m not in documented)
        refused = await client.request(unused, path)
        assert refused.status_code == 405, template
        assert refused.headers["allow"] == expected, template
        assert refused.json()["error"]["code"] == "method_not_allowed"


async def test_events_are_documented_as_a_page(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    spec = await _spec(teacher)
    operation = spec["paths"]["/api/sessions/{id}/events"]["get"]
    page = _schema(spec, operation["responses"]["200"]["content"]["application/json"]["schema"])
    assert page["required"] == ["items"]
    event = _schema(spec, page["properties"]["items"]["items"])
    assert {"kind", "actor", "data", "seq", "created_at"} <= set(event["properties"])
    session = await make_session(teacher)
    body = (await teacher.get(f"/api/sessions/{session['id']}/events")).json()
    assert set(body) == {"items"} and body["items"][0]["kind"] == "created"


async def test_limits_the_routes_enforce_are_documented(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    spec = await _spec(client)
    schemas = spec["components"]["schemas"]
    session = schemas["SessionIn"]["properties"]
    assert session["time_limit_seconds"] | {"title": ""} == {
        "title": "",
        "type": "integer",
        "minimum": settings.session_min_seconds,
        "maximum": settings.session_max_seconds,
    }
    assert (session["token_budget"]["minimum"], session["token_budget"]["maximum"]) == (
        settings.token_budget_min,
        settings.token_budget_max,
    )
    # Blank after trimming is refused: the schema asks for a non-space character.
    for model, field in [
        ("SessionIn", "student_name"),
        ("ProfileIn", "name"),
        ("LoginIn", "email"),
    ]:
        assert schemas[model]["properties"][field]["pattern"] == r"\S", (model, field)
    assert schemas["LevelIn"]["properties"]["descriptor"]["pattern"] == r"\S"
    # A hidden fact is an object, or a plain string standing for its `fact`.
    plain, structured = schemas["ProfileIn"]["properties"]["hidden_facts"]["items"]["anyOf"]
    assert plain["pattern"] == r"\S"
    assert structured == {"$ref": "#/components/schemas/HiddenFactIn"}
    fact = schemas["HiddenFactIn"]["properties"]
    assert fact["fact"]["pattern"] == r"\S"
    assert fact["trust_needed"]["anyOf"][0] == {"type": "integer", "minimum": 0, "maximum": 100}
    assert [branch["type"] for branch in fact["topics"]["anyOf"]] == ["array", "string"]
    assert schemas["ProfileIn"]["properties"]["style"]["enum"] == list(STYLES)
    # An extension must add something.
    extend = schemas["ExtendIn"]
    assert extend["anyOf"] == [
        {"required": ["add_seconds"], "properties": {"add_seconds": {"minimum": 1}}},
        {"required": ["add_tokens"], "properties": {"add_tokens": {"minimum": 1}}},
    ]
    listing = spec["paths"]["/api/sessions"]["get"]["parameters"]
    limit = next(p for p in listing if p["name"] == "limit")
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": PAGE_MAX}
    assert "U+0000" in spec["info"]["description"]


async def test_documented_extend_limit_matches_the_route(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    session = await make_session(teacher)
    nothing = await teacher.post(f"/api/sessions/{session['id']}/extend", json={})
    assert nothing.status_code == 422
    assert nothing.json()["error"]["fields"] == {"add_seconds": "give add_seconds or add_tokens"}
