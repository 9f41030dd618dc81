"""``/openapi.json``, generated from the pydantic models the routes validate with."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.schemas import (
    ErrorOut,
    EventOut,
    ExtendIn,
    LoginIn,
    ProfileIn,
    ProfileOut,
    RubricIn,
    RubricOut,
    SessionIn,
    SessionOut,
    SessionPage,
    UserOut,
)

Op = tuple[str, str, str, type[BaseModel] | None, type[BaseModel] | None, int]

# (method, path, summary, request body, response body, success status)
OPERATIONS: list[Op] = [
    ("post", "/api/auth/login", "Log in as a teacher", LoginIn, UserOut, 200),
    ("post", "/api/auth/logout", "Log out", None, None, 200),
    ("get", "/api/me", "The logged-in teacher", None, UserOut, 200),
    ("get", "/api/profiles", "List client profiles", None, None, 200),
    ("post", "/api/profiles", "Create a client profile", ProfileIn, ProfileOut, 201),
    ("get", "/api/profiles/{id}", "Get a client profile", None, ProfileOut, 200),
    ("put", "/api/profiles/{id}", "Replace a client profile", ProfileIn, ProfileOut, 200),
    ("delete", "/api/profiles/{id}", "Delete an unused client profile", None, None, 204),
    ("get", "/api/rubrics", "List rubrics", None, None, 200),
    ("post", "/api/rubrics", "Create a rubric", RubricIn, RubricOut, 201),
    ("get", "/api/rubrics/{id}", "Get a rubric", None, RubricOut, 200),
    ("put", "/api/rubrics/{id}", "Replace a rubric", RubricIn, RubricOut, 200),
    ("delete", "/api/rubrics/{id}", "Delete an unused rubric", None, None, 204),
    ("get", "/api/sessions", "List sessions (status, limit, offset)", None, SessionPage, 200),
    ("post", "/api/sessions", "Open a session for a student", SessionIn, SessionOut, 201),
    ("get", "/api/sessions/{id}", "Get a session with time and tokens left", None, SessionOut, 200),
    ("post", "/api/sessions/{id}/start", "Start a session", None, SessionOut, 200),
    ("post", "/api/sessions/{id}/pause", "Pause a session", None, SessionOut, 200),
    ("post", "/api/sessions/{id}/resume", "Resume a session", None, SessionOut, 200),
    ("post", "/api/sessions/{id}/end", "End a session", None, SessionOut, 200),
    ("post", "/api/sessions/{id}/extend", "Add time or tokens", ExtendIn, SessionOut, 200),
    ("post", "/api/sessions/{id}/join-link", "Regenerate the join link", None, SessionOut, 200),
    ("get", "/api/sessions/{id}/events", "The audit trail", None, EventOut, 200),
    ("get", "/api/usage", "Tokens and calls (from, to, group_by)", None, None, 200),
    ("get", "/api/sessions/{id}/transcript", "Transcript (JSON)", None, None, 200),
    ("get", "/api/sessions/{id}/transcript.md", "Transcript (Markdown)", None, None, 200),
    ("get", "/api/sessions/{id}/transcript.csv", "Transcript (CSV)", None, None, 200),
    ("get", "/api/transcripts.zip", "Transcripts as a ZIP (status, from, to)", None, None, 200),
]

ERRORS = {
    "400": "Malformed JSON",
    "401": "Not logged in",
    "404": "Not found (or not yours)",
    "409": "Conflict (object in use, illegal state transition)",
    "413": "Body too large",
    "422": "Validation failed; `fields` says what is wrong",
    "429": "Too many attempts; see Retry-After",
}


def build_openapi(extra: list[Op] | None = None) -> dict[str, Any]:
    operations = OPERATIONS + (extra or [])
    models = {m for op in operations for m in (op[3], op[4]) if m is not None} | {ErrorOut}
    refs, definitions = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    ref = {model: refs[(model, "validation")] for model in models}
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, body, out, status in operations:
        op: dict[str, Any] = {"summary": summary, "responses": {}}
        if "{id}" in path:
            op["parameters"] = [
                {
                    "name": "id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "format": "uuid"},
                }
            ]
        if body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref[body]}},
            }
        success: dict[str, Any] = {"description": "OK"}
        if out is not None:
            success["content"] = {"application/json": {"schema": ref[out]}}
        op["responses"][str(status)] = success
        for code, text in ERRORS.items():
            op["responses"][code] = {
                "description": text,
                "content": {"application/json": {"schema": ref[ErrorOut]}},
            }
        paths.setdefault(path, {})[method] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Virtual Client API", "version": "0.1.0"},
        "paths": paths,
        "components": {"schemas": definitions.get("$defs", {})},
    }


async def openapi(_request: Request) -> Response:
    return JSONResponse(build_openapi())


routes = [Route("/openapi.json", openapi, methods=["GET"])]
